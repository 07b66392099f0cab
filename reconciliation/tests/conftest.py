import pytest

from core.actors import system_actor


@pytest.fixture
def actor(db):
    return system_actor("tests")

from __future__ import annotations

import pytest

from payouts import services


@pytest.fixture
def actor(system_user):
    return system_user


@pytest.fixture
def recipient(organization, branch, actor):
    return services.recipient_create(
        organization=organization,
        scope="employee",
        name="Anna Waiter",
        branch=branch,
        external_ref="W-1",
        actor=actor,
    )


@pytest.fixture
def qr(recipient, actor):
    return services.qr_code_create(recipient=recipient, actor=actor)

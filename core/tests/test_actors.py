"""System actors are remembered by the process once committed (``core.actors``)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.actors import system_actor


@pytest.mark.django_db(transaction=True)
def test_a_system_user_read_outside_a_transaction_is_read_once():
    first = system_actor("tests.remembered")
    with CaptureQueriesContext(connection) as captured:
        again = system_actor("tests.remembered")
    assert again.pk == first.pk
    assert again.username == "system.tests.remembered"
    assert not again.is_active
    assert len(captured) == 0
    # Saving any user forgets the remembered ones: read again.
    first.first_name = "renamed"
    first.save()
    with CaptureQueriesContext(connection) as captured:
        system_actor("tests.remembered")
    assert len(captured) == 1


@pytest.mark.django_db
def test_a_system_user_of_a_transaction_is_not_remembered():
    """It may be rolled back (a remembered user that does not exist would break every later
    audit row naming it)."""
    with transaction.atomic():
        created = system_actor("tests.rolled-back")
        transaction.set_rollback(True)
    again = system_actor("tests.rolled-back")
    assert again.pk != created.pk


@pytest.mark.django_db(transaction=True)
def test_migrate_forgets_them():
    """``migrate`` and ``flush`` end with ``post_migrate``: the benchmark recreates its database
    under a running process, a flush empties the users without a delete signal; a remembered
    user would then name a row that is gone (every audit row naming it refused at commit)."""
    system_actor("tests.migrated")
    call_command("migrate", verbosity=0)
    with CaptureQueriesContext(connection) as captured:
        system_actor("tests.migrated")
    assert len(captured) >= 1  # read again

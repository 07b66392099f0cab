"""Idram and Telcell have no server-to-server API (``providers.base.CallbackOnly``): the same
capabilities, and each operation refuses with the adapter's sentence."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.providers.idram import IdramAdapter
from payments.providers.telcell import TelcellAdapter
from payments.tests.providers.test_idram import idram
from payments.tests.providers.test_telcell import telcell

ADAPTERS = [
    pytest.param(IdramAdapter, idram, "idram", "Idram documents no", id="idram"),
    pytest.param(TelcellAdapter, telcell, "telcell", "Telcell documents no", id="telcell"),
]


@pytest.mark.parametrize(("adapter_class", "make", "name", "sentence"), ADAPTERS)
def test_capabilities_say_there_is_no_api(adapter_class, make, name, sentence):
    caps = adapter_class.capabilities
    assert adapter_class.name == name
    assert not caps.status_lookup
    assert not caps.refunds
    assert not caps.partial_refunds
    assert not caps.tokenized_recurring
    assert caps.currencies == ("AMD",)


OPERATIONS = [
    ("status", {"provider_reference": "x", "order_number": "1806"}),
    (
        "refund",
        {"provider_reference": "x", "amount": Decimal("1.00"), "currency": "AMD", "refund_id": "r"},
    ),
    ("reverse", {"provider_reference": "x"}),
    ("charge_token", {"request": None, "binding_id": "b"}),
]


@pytest.mark.parametrize(("adapter_class", "make", "name", "sentence"), ADAPTERS)
@pytest.mark.parametrize(("method", "kwargs"), OPERATIONS)
def test_server_side_operations_are_not_implemented_with_a_sentence(
    adapter_class, make, name, sentence, method, kwargs
):
    with pytest.raises(NotImplementedError, match=sentence):
        getattr(make(), method)(**kwargs)

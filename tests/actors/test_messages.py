"""Typed host messages: each command type registered once, and encoded both ways."""

from __future__ import annotations

from dataclasses import dataclass

import msgpack
import pytest

from keylight_actors.actors import tenant_messages
from keylight_actors.actors.messages import MESSAGES, Message, decode_message, message
from keylight_actors.domain.catalog import KeyType, Product
from keylight_actors.services.catalog import CreateKeyType, CreateProduct, UpdateKeyType
from keylight_actors.services.payments import MintFromCheckout
from keylight_actors.services.tenants import GetSnapshot, SetLifecycle


def _round_trip(registered: Message, command: object) -> object:
    decoded = decode_message(msgpack.unpackb(registered.encode(command), raw=False))
    assert decoded is not None and decoded[0] is registered
    return decoded[1]


@pytest.mark.parametrize("registered, command", [
    (tenant_messages.GET_SNAPSHOT, GetSnapshot("acme")),
    (tenant_messages.SET_LIFECYCLE, SetLifecycle("acme", "active", "operator")),
    (tenant_messages.CREATE_PRODUCT, CreateProduct("acme", Product("app", "App", "ACME"), "t")),
    (tenant_messages.CREATE_KEY_TYPE,
     CreateKeyType("acme", KeyType("app", "pro", "Pro", 2, entitlements=("a", "b")), "t")),
    (tenant_messages.MINT_FROM_CHECKOUT,
     MintFromCheckout("acme", "evt", "cs", "app", "pro", None, "pi", None, None)),
])
def test_a_command_arrives_as_it_was_sent(registered, command):
    assert _round_trip(registered, command) == command


def test_a_command_routes_by_its_entity_field():
    assert tenant_messages.SET_LIFECYCLE.entity_id(SetLifecycle("acme", "x", "y")) == "acme"


def test_every_tenant_command_type_is_registered_once():
    tags = [registered.tag for registered in MESSAGES.values()]
    assert len(tags) == len(set(tags))
    assert MESSAGES["UpdateKeyType"].command is UpdateKeyType


def test_a_command_type_cannot_be_registered_twice():
    with pytest.raises(ValueError):
        message(GetSnapshot, key="tenant_id")


def test_an_unregistered_tag_decodes_to_nothing():
    assert decode_message(["NoSuchCommand", "acme"]) is None


def test_a_class_that_was_never_registered_has_no_encoding():
    @dataclass(frozen=True)
    class Stray:
        tenant_id: str

    assert all(registered.command is not Stray for registered in MESSAGES.values())

"""crm-sync's rules inside one transaction, on real PostgreSQL and the fake CRM."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from sportello.contracts import CrmSynced, Envelope
from sportello.db import Database
from sportello_crm_sync import service
from sportello_crm_sync.adapters.generic_rest import GenericRestCrm
from sportello_crm_sync.component import COMPONENT
from sportello_crm_sync.tables import crm_links, interactions
from tests.crm_sync.conftest import CRM_TOKEN, message_received
from tests.support.database import migrated_database
from tests.support.fake_crm import FakeCrm


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with migrated_database(COMPONENT, database_url) as database:
        yield database


def rest_crm(fake_crm: FakeCrm) -> GenericRestCrm:
    return GenericRestCrm(fake_crm.url, SecretStr(CRM_TOKEN), 2.0)


async def mirror(db: Database, crm: GenericRestCrm | None, *messages: object) -> list[Envelope]:
    """Mirror each message in its own transaction (as the bus edge does); the events it emitted."""
    emitted: list[Envelope] = []
    for message in messages:
        async with db.transaction() as tx:
            await service.mirror_message(tx, message, uuid.uuid4(), crm)  # type: ignore[arg-type]
        emitted += tx.outbox.added
    return emitted


async def test_mirrors_and_announces_a_message(db: Database, fake_crm: FakeCrm) -> None:
    message = message_received()

    [envelope] = await mirror(db, rest_crm(fake_crm), message)

    [stored] = fake_crm.interactions_of(str(message.customer_id))
    event = envelope.data
    assert isinstance(event, CrmSynced)
    assert (event.status, event.crm, event.crm_interaction_id) == ("synced", "generic_rest",
                                                                   stored["id"])
    assert event.crm_contact_id == stored["contact_id"]
    assert envelope.subject == str(message.conversation_id)
    async with db.transaction() as tx:
        link = (await tx.session.execute(
            select(crm_links).where(crm_links.c.customer_id == message.customer_id))).one()
        mirrored = (await tx.session.execute(
            select(interactions).where(interactions.c.message_id == message.message_id))).one()
    assert (link.crm, link.contact_id) == ("generic_rest", stored["contact_id"])
    assert (mirrored.crm, mirrored.interaction_id) == ("generic_rest", stored["id"])


async def test_a_stale_contact_is_upserted_again(db: Database, fake_crm: FakeCrm) -> None:
    customer_id = uuid.uuid4()
    first, second = message_received(customer_id), message_received(customer_id)
    [announced] = await mirror(db, rest_crm(fake_crm), first)
    assert isinstance(announced.data, CrmSynced)
    fake_crm.forget_contact(announced.data.crm_contact_id or "")

    [relinked] = await mirror(db, rest_crm(fake_crm), second)

    assert isinstance(relinked.data, CrmSynced)
    assert relinked.data.crm_contact_id != announced.data.crm_contact_id
    assert len(fake_crm.requests_to("PUT", str(customer_id))) == 2
    assert [i["message_id"] for i in fake_crm.interactions_of(str(customer_id))] == [
        str(second.message_id)]


async def test_a_message_mirrored_under_another_event_is_not_appended_again(
    db: Database, fake_crm: FakeCrm
) -> None:
    message = message_received()

    emitted = await mirror(db, rest_crm(fake_crm), message, message)

    assert len(emitted) == 1
    assert len(fake_crm.interactions_of(str(message.customer_id))) == 1


async def test_without_a_crm_it_announces_not_configured(db: Database) -> None:
    message = message_received()

    [envelope] = await mirror(db, None, message)

    assert envelope.data == CrmSynced(message_id=message.message_id,
                                      customer_id=message.customer_id, crm="none",
                                      crm_contact_id=None, crm_interaction_id=None,
                                      status="not_configured")
    async with db.transaction() as tx:
        linked = (await tx.session.execute(
            select(crm_links).where(crm_links.c.customer_id == message.customer_id))).first()
    assert linked is None

"""The generic REST adapter against a real HTTP server: request shapes, auth, failure classes."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from sportello.errors import PermanentError, TransientError
from sportello_crm_sync.adapters import ContactNotFound, Customer, HistoryEntry, Identity
from sportello_crm_sync.adapters.generic_rest import GenericRestCrm
from tests.crm_sync.conftest import CRM_TOKEN
from tests.support.fake_crm import FakeCrm


def adapter(crm: FakeCrm, *, token: str = CRM_TOKEN, timeout: float = 2.0) -> GenericRestCrm:
    return GenericRestCrm(crm.url + "/", SecretStr(token), timeout)


def customer() -> Customer:
    return Customer(external_ref=str(uuid.uuid4()), display_name="Ada Lovelace",
                    identities=(Identity(channel="chat", handle="@ada"),))


def interaction(key: str = "event-1") -> HistoryEntry:
    return HistoryEntry(key=key, kind="message", summary="Inbound chat message", channel="chat",
                        direction="inbound", text="where is my parcel?",
                        occurred_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
                        conversation_id=uuid.uuid4(), message_id=uuid.uuid4())


async def test_upsert_contact_puts_the_customer_by_external_ref(fake_crm: FakeCrm) -> None:
    crm, ada = adapter(fake_crm), customer()

    first = await crm.upsert_contact(ada)
    again = await crm.upsert_contact(ada)

    assert first == again
    put = fake_crm.requests_to("PUT")[0]
    assert put.path == f"/contacts/{ada.external_ref}"
    assert put.headers["authorization"] == f"Bearer {CRM_TOKEN}"
    assert put.json == {"external_ref": ada.external_ref, "display_name": "Ada Lovelace",
                        "identities": [{"channel": "chat", "handle": "@ada"}]}


async def test_append_interaction_posts_with_the_idempotency_key(fake_crm: FakeCrm) -> None:
    crm, ada, said = adapter(fake_crm), customer(), interaction()
    contact_id = await crm.upsert_contact(ada)

    first = await crm.append_history(contact_id, said)
    replayed = await crm.append_history(contact_id, said)

    assert first == replayed
    assert len(fake_crm.interactions_of(ada.external_ref)) == 1
    post = fake_crm.requests_to("POST")[0]
    assert post.path == f"/contacts/{contact_id}/interactions"
    assert post.headers["idempotency-key"] == "event-1"
    assert post.headers["authorization"] == f"Bearer {CRM_TOKEN}"
    assert post.json == {"kind": "message", "summary": "Inbound chat message",
                         "conversation_status": "open", "channel": "chat",
                         "direction": "inbound", "text": "where is my parcel?",
                         "occurred_at": "2026-11-24T09:30:00+00:00",
                         "conversation_id": str(said.conversation_id),
                         "message_id": str(said.message_id)}


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_throttling_are_transient(fake_crm: FakeCrm, status: int) -> None:
    fake_crm.fail_next("PUT", status)

    with pytest.raises(TransientError, match=str(status)):
        await adapter(fake_crm).upsert_contact(customer())


async def test_a_rejected_request_is_permanent(fake_crm: FakeCrm) -> None:
    fake_crm.fail_next("POST", 400)
    crm = adapter(fake_crm)
    contact_id = await crm.upsert_contact(customer())

    with pytest.raises(PermanentError, match="400") as raised:
        await crm.append_history(contact_id, interaction("event-2"))
    assert not isinstance(raised.value, TransientError | ContactNotFound)


async def test_a_wrong_token_is_permanent_and_never_echoed(fake_crm: FakeCrm) -> None:
    wrong = "wrong-token-abcdefgh"
    with pytest.raises(PermanentError, match="401") as raised:
        await adapter(fake_crm, token=wrong).upsert_contact(customer())
    assert wrong not in str(raised.value)


async def test_an_unknown_contact_is_reported_as_such(fake_crm: FakeCrm) -> None:
    with pytest.raises(ContactNotFound):
        await adapter(fake_crm).append_history("ct_missing", interaction("event-3"))


async def test_a_success_without_an_id_is_permanent(fake_crm: FakeCrm) -> None:
    fake_crm.fail_next("PUT", 200)  # answers {"error": "injected"}

    with pytest.raises(PermanentError, match="without an id"):
        await adapter(fake_crm).upsert_contact(customer())


async def test_a_slow_crm_times_out_as_transient(fake_crm: FakeCrm) -> None:
    fake_crm.fail_next("PUT", None, delay=1.0)

    with pytest.raises(TransientError, match="timed out"):
        await adapter(fake_crm, timeout=0.2).upsert_contact(customer())


async def test_an_unreachable_crm_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    crm = GenericRestCrm(f"http://127.0.0.1:{port}", SecretStr(CRM_TOKEN), 1.0)

    with pytest.raises(TransientError, match="unreachable"):
        await crm.upsert_contact(customer())

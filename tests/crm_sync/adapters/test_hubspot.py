"""The HubSpot adapter against a fake HubSpot portal over real sockets: contacts, notes, failure classes."""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.base import ContactNotFound, CrmUnavailable, Customer, Identity
from sportello_crm_sync.adapters.hubspot import HubSpotCrm, mapper
from tests.crm_sync.adapters.conftest import HUBSPOT_TOKEN, customer, entry
from tests.support.fake_hubspot import FakeHubSpot, running_fake_hubspot

RATE_LIMITED = {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
                "correlationId": "c0ffee00-0000-4000-8000-000000000000", "policyName": "SECONDLY",
                "groupName": "publicapi:private-app:secondly"}


@contextlib.asynccontextmanager
async def connected(portal: FakeHubSpot, *, token: str = HUBSPOT_TOKEN,
                    timeout: float = 2.0) -> AsyncIterator[HubSpotCrm]:
    crm = HubSpotCrm(portal.url, SecretStr(token), timeout)
    try:
        yield crm
    finally:
        await crm.aclose()


@pytest.fixture
async def crm(hubspot: FakeHubSpot) -> AsyncIterator[HubSpotCrm]:
    async with connected(hubspot) as adapter:
        yield adapter


def texts_of(exc: BaseException) -> str:
    """Everything an exception says, with its causes: what a log line or a parked job would show."""
    said = []
    current: BaseException | None = exc
    while current is not None:
        said += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(said)


# -- contacts -----------------------------------------------------------------------------------------


async def test_upsert_creates_a_contact_keyed_by_the_customer_id(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    ada = customer("Ada King Lovelace", Identity("x", "@ada"), Identity("email", "ada@example.org"),
                   Identity("whatsapp", "+393331234567"))

    contact_id = await crm.upsert_contact(ada)

    contact = hubspot.contact_by_ref(ada.external_ref)
    assert contact is not None and contact["id"] == contact_id
    first, last = mapper.split_name(ada.display_name)
    assert {k: contact["properties"].get(k) for k in ("firstname", "lastname", "email", "phone")} == {
        "firstname": first, "lastname": last, "email": ada.email, "phone": ada.phone}
    search = hubspot.requests_to("POST", "/contacts/search")[0]
    assert search.headers["authorization"] == f"Bearer {HUBSPOT_TOKEN}"
    assert search.json["filterGroups"] == [{"filters": [
        {"propertyName": "sportello_customer_id", "operator": "EQ", "value": ada.external_ref}]}]


async def test_upsert_again_updates_the_same_contact(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    ada = customer()
    first = await crm.upsert_contact(ada)
    renamed = Customer(ada.external_ref, "Ada Byron", (Identity("email", "countess@example.org"),))

    again = await crm.upsert_contact(renamed)

    assert again == first
    contact = hubspot.contact_by_ref(ada.external_ref)
    assert contact is not None
    assert (contact["properties"]["firstname"], contact["properties"]["lastname"]) == mapper.split_name("Ada Byron")
    assert contact["properties"]["email"] == renamed.email
    assert len(hubspot.objects["contacts"]) == 1
    assert [r.path for r in hubspot.requests_to("PATCH")] == [f"/crm/v3/objects/contacts/{first}"]


async def test_a_concurrent_create_conflict_answers_the_existing_contact(hubspot: FakeHubSpot,
                                                                        crm: HubSpotCrm) -> None:
    ada = customer()
    first = await crm.upsert_contact(ada)
    # A search that does not see the contact yet (another worker created it a moment ago).
    hubspot.fail_next("POST", 200, body={"total": 0, "results": []})

    again = await crm.upsert_contact(ada)

    assert again == first
    assert len(hubspot.objects["contacts"]) == 1
    assert len([r for r in hubspot.requests_to("POST") if r.path == "/crm/v3/objects/contacts"]) == 2


async def test_a_conflict_with_another_contact_is_permanent(crm: HubSpotCrm) -> None:
    await crm.upsert_contact(customer("Ada Lovelace", Identity("email", "shared@example.org")))

    with pytest.raises(PermanentError, match="409") as raised:
        await crm.upsert_contact(customer("Grace Hopper", Identity("email", "shared@example.org")))
    assert not isinstance(raised.value, CrmUnavailable | ContactNotFound)


async def test_a_contact_deleted_after_the_search_is_created_again(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    ada = customer()
    # The search index still lists a contact that was deleted since.
    hubspot.fail_next("POST", 200, body={"total": 1, "results": [{"id": "999999", "properties": {}}]})

    contact_id = await crm.upsert_contact(ada)

    contact = hubspot.contact_by_ref(ada.external_ref)
    assert contact is not None and contact["id"] == contact_id != "999999"


# -- history ------------------------------------------------------------------------------------------


async def test_history_becomes_a_readable_note_on_the_contact(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    ada = customer()
    contact_id = await crm.upsert_contact(ada)
    said = entry(text="is <b>this</b> mine & yours?\nsecond line")

    note_id = await crm.append_history(contact_id, said)

    [record] = hubspot.history_of(ada.external_ref)
    assert record["id"] == note_id and record["key"] == said.key
    assert html.escape(said.summary) in record["body"]
    assert said.text is not None and html.escape(said.text).replace("\n", "<br>") in record["body"]
    properties = record["note"]["properties"]
    assert datetime.fromisoformat(properties["hs_timestamp"].replace("Z", "+00:00")) == said.occurred_at
    assert properties["sportello_conversation_id"] == str(said.conversation_id)
    create = next(r for r in hubspot.requests_to("POST") if r.path == "/crm/v3/objects/notes")
    assert create.json["associations"] == [{"to": {"id": contact_id}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}]


async def test_the_same_key_twice_makes_one_note(hubspot: FakeHubSpot, crm: HubSpotCrm) -> None:
    ada = customer()
    contact_id = await crm.upsert_contact(ada)
    said, then = entry(), entry(summary="Assigned to Grace (billing)", kind="assignment", text=None)

    first = await crm.append_history(contact_id, said)
    replayed = await crm.append_history(contact_id, said)
    await crm.append_history(contact_id, then)

    assert replayed == first
    assert [r["key"] for r in hubspot.history_of(ada.external_ref)] == [said.key, then.key]


async def test_a_contact_deleted_in_hubspot_is_reported_and_can_be_recreated(hubspot: FakeHubSpot,
                                                                            crm: HubSpotCrm) -> None:
    ada, said = customer(), entry()
    contact_id = await crm.upsert_contact(ada)
    hubspot.forget_contact(contact_id)

    with pytest.raises(ContactNotFound):
        await crm.append_history(contact_id, said)
    recreated = await crm.upsert_contact(ada)
    await crm.append_history(recreated, said)

    assert recreated != contact_id
    assert [r["key"] for r in hubspot.history_of(ada.external_ref)] == [said.key]


async def test_a_404_for_the_associated_contact_is_contact_not_found(hubspot: FakeHubSpot,
                                                                    crm: HubSpotCrm) -> None:
    contact_id = await crm.upsert_contact(customer())
    hubspot.fail_next("POST", None)  # the note search answers normally
    hubspot.fail_next("POST", 404, body={"status": "error", "message": "resource not found",
                                         "category": "OBJECT_NOT_FOUND"})

    with pytest.raises(ContactNotFound):
        await crm.append_history(contact_id, entry())


async def test_a_portal_without_the_custom_properties_is_a_permanent_error() -> None:
    async with running_fake_hubspot(token=HUBSPOT_TOKEN, custom_properties=False) as bare, connected(bare) as crm:
        with pytest.raises(PermanentError, match="sportello_customer_id") as raised:
            await crm.upsert_contact(customer())
    assert not isinstance(raised.value, CrmUnavailable | ContactNotFound)


# -- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "waited"), [({"Retry-After": "7"}, 7.0), ({}, None)])
async def test_the_rate_limit_is_unavailable_until_retry_after(hubspot: FakeHubSpot, crm: HubSpotCrm,
                                                               headers: dict[str, str], waited: float | None) -> None:
    hubspot.fail_next("POST", 429, headers=headers, body=RATE_LIMITED)

    with pytest.raises(CrmUnavailable, match="429") as raised:
        await crm.upsert_contact(customer())
    assert raised.value.retry_after == waited


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_unavailable(hubspot: FakeHubSpot, crm: HubSpotCrm, status: int) -> None:
    contact_id = await crm.upsert_contact(customer())
    hubspot.fail_next("POST", status, body={"status": "error", "message": "internal error"})

    with pytest.raises(CrmUnavailable, match=str(status)):
        await crm.append_history(contact_id, entry())


async def test_a_slow_portal_times_out_as_unavailable(hubspot: FakeHubSpot) -> None:
    hubspot.fail_next("POST", None, delay=1.0)

    async with connected(hubspot, timeout=0.2) as crm:
        with pytest.raises(CrmUnavailable, match="timed out"):
            await crm.upsert_contact(customer())


async def test_an_outage_is_unavailable_until_the_portal_is_back() -> None:
    ada = customer()
    async with running_fake_hubspot(token=HUBSPOT_TOKEN) as portal, connected(portal) as crm:
        contact_id = await crm.upsert_contact(ada)
        port = portal.port
        await portal.stop()

        with pytest.raises(CrmUnavailable, match="unreachable"):
            await crm.upsert_contact(ada)
        await portal.start(port)
        assert await crm.upsert_contact(ada) == contact_id


async def test_a_wrong_token_is_permanent(hubspot: FakeHubSpot) -> None:
    async with connected(hubspot, token="pat-eu1-wrong-wrong-wrong") as crm:
        with pytest.raises(PermanentError, match="401") as raised:
            await crm.upsert_contact(customer())
    assert not isinstance(raised.value, CrmUnavailable | ContactNotFound)
    assert "INVALID_AUTHENTICATION" in str(raised.value)


async def test_the_token_never_appears_in_an_error(hubspot: FakeHubSpot) -> None:
    wrong = "pat-eu1-wrong-wrong-wrong"
    failures: list[BaseException] = []
    async with connected(hubspot, token=wrong) as crm:
        with pytest.raises(PermanentError) as rejected:
            await crm.upsert_contact(customer())
        failures.append(rejected.value)
    async with connected(hubspot, timeout=0.2) as crm:
        for status, body in [(429, RATE_LIMITED), (503, None), (400, {"status": "error", "message": "bad",
                                                                      "category": "VALIDATION_ERROR"})]:
            hubspot.fail_next("POST", status, body=body)
            with pytest.raises((PermanentError, CrmUnavailable)) as raised:
                await crm.upsert_contact(customer())
            failures.append(raised.value)
        hubspot.fail_next("POST", None, delay=1.0)
        with pytest.raises(CrmUnavailable) as slow:
            await crm.upsert_contact(customer())
        failures.append(slow.value)

    for failure in failures:
        said = texts_of(failure)
        assert HUBSPOT_TOKEN not in said and wrong not in said


# -- mapping ------------------------------------------------------------------------------------------


def test_names_split_into_first_and_last() -> None:
    assert mapper.split_name("  Ada   King Lovelace ") == ("Ada King", "Lovelace")
    assert mapper.split_name("@ada") == (None, "@ada")
    assert mapper.split_name(" ") == (None, None)


def test_a_huge_message_is_cut_to_the_note_limit_still_escaped() -> None:
    said = entry(text="<&>" * 40_000)

    body = mapper.note_body(said)

    assert len(body) <= mapper.NOTE_BODY_LIMIT
    assert body.endswith("…</p>") and "<&>" not in body
    assert body.count("&lt;&amp;&gt;") > 1_000


def test_a_naive_time_is_taken_as_utc() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)

    stamp = mapper.hs_timestamp(naive)

    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")) == naive.replace(tzinfo=UTC)

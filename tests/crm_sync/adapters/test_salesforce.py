"""The Salesforce adapter against a fake org over real sockets: contacts, cases, comments, sessions, failures."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from sportello.errors import PermanentError
from sportello_crm_sync.adapters.base import ContactNotFound, CrmUnavailable, Customer, Identity
from sportello_crm_sync.adapters.salesforce import SalesforceCrm, mapper
from sportello_crm_sync.adapters.salesforce.client import SalesforceClient
from tests.crm_sync.adapters.conftest import CLIENT_ID, CLIENT_SECRET, SALESFORCE_TOKEN, customer, entry
from tests.support.fake_salesforce import FakeSalesforce, running_fake_salesforce

TOKEN_PATH = "/services/oauth2/token"


@contextlib.asynccontextmanager
async def connected(org: FakeSalesforce, *, token: str = SALESFORCE_TOKEN, timeout: float = 2.0,
                    **options: str | SecretStr) -> AsyncIterator[SalesforceCrm]:
    crm = SalesforceCrm(org.url, SecretStr(token), timeout, **options)  # type: ignore[arg-type]
    try:
        yield crm
    finally:
        await crm.aclose()


def with_client_credentials(org: FakeSalesforce, secret: str = CLIENT_SECRET
                            ) -> contextlib.AbstractAsyncContextManager[SalesforceCrm]:
    return connected(org, token="", client_id=CLIENT_ID, client_secret=SecretStr(secret))


@pytest.fixture
async def crm(salesforce: FakeSalesforce) -> AsyncIterator[SalesforceCrm]:
    async with connected(salesforce) as adapter:
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


async def test_upsert_creates_the_contact_by_external_id(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    ada = customer("Ada King Lovelace", Identity("email", "ada@example.org"), Identity("phone", "+39 333 1234567"))

    contact_id = await crm.upsert_contact(ada)

    contact = salesforce.contact_by_ref(ada.external_ref)
    assert contact is not None and contact["id"] == contact_id
    first, last = mapper.split_name(ada.display_name)
    assert {k: contact.get(k) for k in ("FirstName", "LastName", "Email", "Phone")} == {
        "FirstName": first, "LastName": last, "Email": ada.email, "Phone": ada.phone}
    [upsert] = salesforce.requests_to("PATCH")
    assert upsert.path == f"/services/data/v60.0/sobjects/Contact/Sportello_Customer_Id__c/{ada.external_ref}"
    assert upsert.headers["authorization"] == f"Bearer {SALESFORCE_TOKEN}"
    assert "Sportello_Customer_Id__c" not in upsert.json  # the external id travels in the URL


async def test_upsert_again_updates_the_same_contact(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    ada = customer()
    first = await crm.upsert_contact(ada)
    renamed = Customer(ada.external_ref, "Ada Byron", (Identity("email", "countess@example.org"),))

    again = await crm.upsert_contact(renamed)

    assert again == first
    contact = salesforce.contact_by_ref(ada.external_ref)
    assert contact is not None
    assert (contact["FirstName"], contact["LastName"], contact["Email"]) == (
        *mapper.split_name("Ada Byron"), renamed.email)
    assert len(salesforce.records["Contact"]) == 1


async def test_an_older_api_version_without_a_body_is_looked_up(salesforce: FakeSalesforce) -> None:
    ada = customer()
    async with connected(salesforce, api_version="v45.0") as crm:
        first = await crm.upsert_contact(ada)
        again = await crm.upsert_contact(ada)  # 204 No Content before API 46.0

    assert again == first
    [lookup] = salesforce.requests_to("GET")
    assert lookup.path == f"/services/data/v45.0/sobjects/Contact/Sportello_Customer_Id__c/{ada.external_ref}"


async def test_a_customer_known_by_a_handle_only_still_has_the_required_last_name(
        salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    handle, nameless = customer("@ada_l", Identity("x", "@ada_l")), customer(" ", Identity("x", "@x"))

    await crm.upsert_contact(handle)
    await crm.upsert_contact(nameless)

    assert (salesforce.contact_by_ref(handle.external_ref) or {}).get("LastName") == "@ada_l"
    assert (salesforce.contact_by_ref(nameless.external_ref) or {}).get("LastName")


# -- history ------------------------------------------------------------------------------------------


async def test_history_is_a_private_comment_on_the_conversation_case(salesforce: FakeSalesforce,
                                                                     crm: SalesforceCrm) -> None:
    ada, said = customer(), entry()
    contact_id = await crm.upsert_contact(ada)

    comment_id = await crm.append_history(contact_id, said)

    [record] = salesforce.history_of(ada.external_ref)
    assert record["id"] == comment_id and record["key"] == said.key
    assert said.summary in record["body"] and said.text is not None and said.text in record["body"]
    assert record["comment"]["IsPublished"] is False
    case = salesforce.case_of(str(said.conversation_id))
    assert case is not None and case["Id"] == record["case_id"] and case["ContactId"] == contact_id
    assert case["Status"] == "New"
    assert said.channel is not None and said.channel in case["Origin"] and said.channel in case["Subject"]


async def test_the_case_status_follows_the_conversation(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    contact_id = await crm.upsert_contact(customer())
    conversation = uuid.uuid4()
    steps = [entry(conversation),
             entry(conversation, kind="assignment", summary="Assigned to Grace (billing)", text=None),
             entry(conversation),
             # Snoozed: the case keeps its status (not every org has "On Hold"), and is not closed.
             entry(conversation, kind="status", summary="Snoozed", conversation_status="snoozed", text=None),
             entry(conversation, kind="status", summary="Woken", text=None),
             entry(conversation, kind="status", summary="Resolved", conversation_status="resolved", text=None),
             entry(conversation, kind="status", summary="Reopened", text=None)]

    seen = []
    for step in steps:
        await crm.append_history(contact_id, step)
        seen.append((salesforce.case_of(str(conversation)) or {}).get("Status"))

    assert seen == ["New", "Working", "Working", "Working", "Working", "Closed", "Working"]
    [case_id] = salesforce.records["Case"]
    assert [c["ParentId"] for c in salesforce.records["CaseComment"].values()] == [case_id] * len(steps)


async def test_the_same_key_twice_makes_one_comment(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    ada = customer()
    contact_id = await crm.upsert_contact(ada)
    said, elsewhere = entry(), entry()

    first = await crm.append_history(contact_id, said)
    replayed = await crm.append_history(contact_id, said)
    await crm.append_history(contact_id, elsewhere)

    assert replayed == first
    assert [r["key"] for r in salesforce.history_of(ada.external_ref)] == [said.key, elsewhere.key]
    assert len(salesforce.records["Case"]) == 2  # one case per conversation


async def test_a_huge_message_is_cut_but_keeps_its_marker(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    ada = customer()
    contact_id = await crm.upsert_contact(ada)
    said = entry(text="x" * 10_000)

    first = await crm.append_history(contact_id, said)
    again = await crm.append_history(contact_id, said)

    [record] = salesforce.history_of(ada.external_ref)
    assert first == again == record["id"] and record["key"] == said.key
    assert len(record["body"]) <= mapper.COMMENT_MAX


async def test_a_deleted_or_unknown_contact_is_reported_and_can_be_recreated(salesforce: FakeSalesforce,
                                                                            crm: SalesforceCrm) -> None:
    ada, said = customer(), entry()
    contact_id = await crm.upsert_contact(ada)
    salesforce.forget_contact(contact_id)

    with pytest.raises(ContactNotFound, match="ENTITY_IS_DELETED"):
        await crm.append_history(contact_id, said)
    with pytest.raises(ContactNotFound, match="INVALID_CROSS_REFERENCE_KEY"):
        await crm.append_history("003FK9999999999AAA", said)
    recreated = await crm.upsert_contact(ada)
    await crm.append_history(recreated, said)

    assert recreated != contact_id
    assert [r["key"] for r in salesforce.history_of(ada.external_ref)] == [said.key]


async def test_a_404_on_the_case_upsert_is_a_setup_mistake_not_a_missing_contact(
        salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    contact_id = await crm.upsert_contact(customer())
    salesforce.fail_next("PATCH", 404, body=[{"errorCode": "NOT_FOUND", "message": "Provided external ID field "
                                              "does not exist or is not accessible: Sportello_Conversation_Id__c"}])

    with pytest.raises(PermanentError, match="404") as raised:
        await crm.append_history(contact_id, entry())
    assert not isinstance(raised.value, ContactNotFound | CrmUnavailable)


async def test_the_fake_answers_only_the_comment_query(salesforce: FakeSalesforce) -> None:
    client = SalesforceClient(salesforce.url, SecretStr(SALESFORCE_TOKEN), 2.0)
    try:
        with pytest.raises(PermanentError, match="MALFORMED_QUERY"):
            await client.query("SELECT Id FROM Contact")
        answer = await client.query(mapper.comments_query("500FK0000000000AAA"))
    finally:
        await client.aclose()
    assert answer["records"] == []


# -- failures -----------------------------------------------------------------------------------------


async def test_the_api_request_limit_is_unavailable(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    salesforce.fail_next("PATCH", 403, body=[{"message": "TotalRequests Limit exceeded.",
                                              "errorCode": "REQUEST_LIMIT_EXCEEDED"}])

    with pytest.raises(CrmUnavailable, match="REQUEST_LIMIT_EXCEEDED") as raised:
        await crm.upsert_contact(customer())
    assert raised.value.retry_after is None


async def test_another_403_is_permanent(salesforce: FakeSalesforce, crm: SalesforceCrm) -> None:
    salesforce.fail_next("PATCH", 403, body=[{"message": "The REST API is not enabled for this Organization.",
                                              "errorCode": "API_DISABLED_FOR_ORG"}])

    with pytest.raises(PermanentError, match="API_DISABLED_FOR_ORG") as raised:
        await crm.upsert_contact(customer())
    assert not isinstance(raised.value, CrmUnavailable | ContactNotFound)


@pytest.mark.parametrize(("status", "headers", "waited"), [(503, {"Retry-After": "12"}, 12.0), (503, {}, None),
                                                           (500, {}, None), (429, {"Retry-After": "3"}, 3.0)])
async def test_server_errors_are_unavailable(salesforce: FakeSalesforce, crm: SalesforceCrm, status: int,
                                             headers: dict[str, str], waited: float | None) -> None:
    contact_id = await crm.upsert_contact(customer())
    salesforce.fail_next("PATCH", status, headers=headers,
                         body=[{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}])

    with pytest.raises(CrmUnavailable, match=str(status)) as raised:
        await crm.append_history(contact_id, entry())
    assert raised.value.retry_after == waited


async def test_a_slow_org_times_out_as_unavailable(salesforce: FakeSalesforce) -> None:
    salesforce.fail_next("PATCH", None, delay=1.0)

    async with connected(salesforce, timeout=0.2) as crm:
        with pytest.raises(CrmUnavailable, match="timed out"):
            await crm.upsert_contact(customer())


async def test_an_outage_is_unavailable_until_the_org_is_back() -> None:
    ada = customer()
    async with running_fake_salesforce(token=SALESFORCE_TOKEN) as org, connected(org) as crm:
        contact_id = await crm.upsert_contact(ada)
        port = org.port
        await org.stop()

        with pytest.raises(CrmUnavailable, match="unreachable"):
            await crm.upsert_contact(ada)
        await org.start(port)
        assert await crm.upsert_contact(ada) == contact_id


# -- sessions -----------------------------------------------------------------------------------------


async def test_a_wrong_static_token_is_permanent(salesforce: FakeSalesforce) -> None:
    async with connected(salesforce, token="00DFK0000000001!wrong-session") as crm:
        with pytest.raises(PermanentError, match="INVALID_SESSION_ID") as raised:
            await crm.upsert_contact(customer())
    assert not isinstance(raised.value, CrmUnavailable | ContactNotFound)
    assert len(salesforce.requests_to("PATCH")) == 1  # a static token is not renewed


async def test_client_credentials_fetch_one_token_and_renew_it_after_a_401(salesforce: FakeSalesforce) -> None:
    ada = customer()
    async with with_client_credentials(salesforce) as crm:
        contact_id = await crm.upsert_contact(ada)
        await crm.append_history(contact_id, entry())
        assert len(salesforce.requests_to("POST", TOKEN_PATH)) == 1
        first_token = salesforce.requests_to("PATCH")[0].headers["authorization"]

        salesforce.expire_sessions()
        assert await crm.upsert_contact(ada) == contact_id

    [fetch, renewal] = salesforce.requests_to("POST", TOKEN_PATH)
    assert fetch.body == renewal.body
    refused, retried = salesforce.requests_to("PATCH")[-2:]
    assert refused.headers["authorization"] == first_token != retried.headers["authorization"]


async def test_concurrent_calls_share_one_renewal(salesforce: FakeSalesforce) -> None:
    async with with_client_credentials(salesforce) as crm:
        await crm.upsert_contact(customer())
        salesforce.expire_sessions()

        ids = await asyncio.gather(*(crm.upsert_contact(customer()) for _ in range(3)))

    assert len(set(ids)) == 3
    assert len(salesforce.requests_to("POST", TOKEN_PATH)) == 2


async def test_a_session_refused_after_renewal_is_permanent(salesforce: FakeSalesforce) -> None:
    async with with_client_credentials(salesforce) as crm:
        await crm.upsert_contact(customer())
        salesforce.fail_next("PATCH", 401, times=2, body=[{"message": "Session expired or invalid",
                                                           "errorCode": "INVALID_SESSION_ID"}])

        with pytest.raises(PermanentError, match="INVALID_SESSION_ID"):
            await crm.upsert_contact(customer())
    assert len(salesforce.requests_to("POST", TOKEN_PATH)) == 2  # renewed once, not in a loop


async def test_wrong_client_credentials_are_permanent_and_nothing_is_sent(salesforce: FakeSalesforce) -> None:
    async with with_client_credentials(salesforce, secret="not-the-secret") as crm:
        with pytest.raises(PermanentError, match="invalid_client") as raised:
            await crm.upsert_contact(customer())
    assert not isinstance(raised.value, CrmUnavailable | ContactNotFound)
    assert salesforce.requests_to("PATCH") == []


async def test_no_credential_ever_appears_in_an_error(salesforce: FakeSalesforce) -> None:
    wrong_token, wrong_secret = "00DFK0000000001!wrong-session", "not-the-secret-at-all"
    failures: list[BaseException] = []
    async with connected(salesforce, token=wrong_token) as crm:
        with pytest.raises(PermanentError) as refused:
            await crm.upsert_contact(customer())
        failures.append(refused.value)
    async with with_client_credentials(salesforce, secret=wrong_secret) as crm:
        with pytest.raises(PermanentError) as refused:
            await crm.upsert_contact(customer())
        failures.append(refused.value)
    async with with_client_credentials(salesforce) as crm, connected(salesforce, timeout=0.2) as static:
        contact_id = await crm.upsert_contact(customer())
        for status, body in [(403, [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
                             (503, [{"message": "unavailable", "errorCode": "SERVER_UNAVAILABLE"}]),
                             (400, [{"message": "bad", "errorCode": "INVALID_FIELD"}])]:
            for adapter in (crm, static):
                salesforce.fail_next("PATCH", status, body=body)
                with pytest.raises((PermanentError, CrmUnavailable)) as raised:
                    await adapter.append_history(contact_id, entry())
                failures.append(raised.value)
        salesforce.fail_next("PATCH", None, delay=1.0)
        with pytest.raises(CrmUnavailable) as slow:
            await static.upsert_contact(customer())
        failures.append(slow.value)
    issued = {r.headers["authorization"].removeprefix("Bearer ") for r in salesforce.requests
              if "authorization" in r.headers}

    for failure in failures:
        said = texts_of(failure)
        for secret in (SALESFORCE_TOKEN, wrong_token, CLIENT_SECRET, wrong_secret, *issued):
            assert secret not in said

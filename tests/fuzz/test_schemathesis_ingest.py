"""Schemathesis against ingest's OpenAPI document: every operation, positive and negative cases, in-process
on real PostgreSQL (a database of its own) with the in-process bus and every channel configured.

Checks on every answer: no 5xx, the documented schema and content type, and every 4xx a problem document.
Every request carries an admin token (admin holds every role). Half the positive cases are pointed at rows
that exist (customers, conversations, messages, a merge, a merge suggestion, a chat session with its token)
and have webhook bodies signed, so generation reaches the code behind the 404s and 401/403s; the other half
stay as generated.

The webhooks document no body (they read it raw), so schemathesis cannot generate one: signed bodies for
X, Meta and e-mail get their own property (documented payloads with any text, damaged payloads, random MIME).

The bugs this suite found (BUG-1, 2, 3, 6, 7, 8, 10) are fixed; one request each reproduces them at the end
of this module as regression tests. ``KNOWN_BUGS``/``AFFECTED`` stay as the way to pin a new bug with a
strict xfail (``raises=KnownBugFound``) until it is fixed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import Case

from sportello.http import signatures
from sportello_deploy.postgres import EmbeddedPostgres
from sportello_ingest.component import COMPONENT
from tests.fuzz.payloads import meta_instagram, meta_page, meta_whatsapp, mime_messages, x_payload
from tests.fuzz.strategies import any_text, mutated, with_times
from tests.fuzz.support import (
    PROBLEM_JSON,
    Fuzzer,
    KnownBug,
    KnownBugFound,
    assert_only_known,
    examples,
    load_schema,
    openapi_operations,
    send_raw,
)
from tests.support.app import auth, running_app

POSITIVE, NEGATIVE = 30, 15
X_SECRET = "x-consumer-secret-fuzz"
META_SECRET = "meta-app-secret-fuzz"
META_VERIFY = "meta-verify-token-fuzz"
CHAT_SECRET = "chat-session-secret-fuzz"
WIDGET_KEY = "fuzz-widget-key"
EMAIL_SECRET = "whsec_" + base64.b64encode(b"e-mail webhook key for fuzzing").decode()
CHANNELS = dict(
    x_consumer_secret=SecretStr(X_SECRET), x_access_token=SecretStr("x-token"),
    x_api_base_url="http://127.0.0.1:9",
    meta_app_secret=SecretStr(META_SECRET), meta_verify_token=SecretStr(META_VERIFY),
    meta_access_token=SecretStr("meta-token"), meta_graph_base_url="http://127.0.0.1:9",
    chat_session_secret=SecretStr(CHAT_SECRET), chat_widget_keys=f"{WIDGET_KEY}=acme",
    email_webhook_secret=SecretStr(EMAIL_SECRET), smtp_host="127.0.0.1", smtp_port=9,
    send_poll_seconds=0.2, send_backoff_seconds=60,
)

# -- known bugs ----------------------------------------------------------------------------------------

NUL_IN_TEXT = KnownBug(
    "BUG-1 NUL (U+0000) in a string reaches PostgreSQL", 500,
    ('invalid byte sequence for encoding "UTF8": 0x00', "unsupported Unicode escape sequence"))
DATE_OUT_OF_RANGE = KnownBug(
    "BUG-2 an aware time near Python's limits (year 1 ahead of UTC, 9999 behind) fails converting to UTC", 500,
    ("date value out of range",))
INT_OUT_OF_RANGE = KnownBug(
    "BUG-3 integer out of int32 range", 500, ("out of int32 range",))
LONE_SURROGATE = KnownBug(
    "BUG-10 a lone surrogate (JSON \\udXXX escape) in a webhook's text reaches PostgreSQL", 500,
    ("surrogates not allowed",))
KNOWN_BUGS: tuple[KnownBug, ...] = ()  # every bug found so far is fixed (see the regressions below)

# The operations in which generation meets a known bug, with the bugs it meets there (derandomised:
# the same requests every run).
AFFECTED: dict[tuple[str, str], tuple[KnownBug, ...]] = {}

OPERATIONS = openapi_operations(COMPONENT)


def _param(method: str, path: str) -> Any:
    bugs = AFFECTED.get((method, path))
    marks = [pytest.mark.xfail(strict=True, raises=KnownBugFound,
                               reason="; ".join(bug.name for bug in bugs))] if bugs else []
    return pytest.param(method, path, id=f"{method} {path}", marks=marks)


# -- the app, with rows to point cases at --------------------------------------------------------------


@dataclass
class Seeds:
    conversations: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    external: list[tuple[str, str]] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> its token
    # Rows fuzzing never points at (merged, blocked, resolved...): for the reproductions.
    spare_customers: list[str] = field(default_factory=list)
    spare_conversation: str = ""
    spare_session: tuple[str, str] = ("", "")


async def _pushed(client: httpx.AsyncClient, name: str) -> tuple[dict[str, Any], str]:
    external_id = f"fuzz-{uuid.uuid4().hex}"
    answer = await client.post("/v1/channels/api/messages", headers=auth("admin"), json={
        "channel": "fuzz", "external_id": external_id,
        "author": {"id": f"fuzz-author-{uuid.uuid4().hex}", "display_name": name},
        "text": "my order is late", "sent_at": datetime.now(UTC).isoformat()})
    assert answer.status_code == 201, answer.text
    return answer.json(), external_id


async def _chat(client: httpx.AsyncClient) -> tuple[str, str, dict[str, Any]]:
    """A chat session with one visitor message: (session id, token, the message accepted)."""
    session = await client.post("/v1/channels/chat/sessions",
                                json={"widget_key": WIDGET_KEY, "visitor": {"name": "Visitor"}})
    assert session.status_code == 201, session.text
    session_id, token = session.json()["session_id"], session.json()["session_token"]
    said = await client.post(f"/v1/channels/chat/sessions/{session_id}/messages",
                             headers={"X-Chat-Session-Token": token},
                             json={"client_message_id": "m1", "text": "hello, anyone there?"})
    assert said.status_code == 201, said.text
    return session_id, token, said.json()


async def _seed(client: httpx.AsyncClient) -> Seeds:
    seeds = Seeds()
    admin = auth("admin")
    for index in range(4):
        body, external_id = await _pushed(client, f"Fuzz {index}")
        seeds.conversations.append(body["conversation_id"])
        seeds.customers.append(body["customer_id"])
        seeds.messages.append(body["message_id"])
        seeds.external.append(("fuzz", external_id))
    first, second, third, fourth = seeds.customers
    address = f"{uuid.uuid4().hex}@fuzz.test"
    linked = await client.post(f"/v1/customers/{first}/identities", headers=admin,
                               json={"platform": "email", "external_id": address, "verified": True})
    assert linked.status_code == 200, linked.text
    claimed = await client.post(f"/v1/customers/{second}/identities", headers=admin,
                                json={"platform": "email", "external_id": address, "verified": False})
    assert claimed.status_code == 202, claimed.text
    seeds.suggestions.append(claimed.json()["id"])
    merged = await client.post(f"/v1/customers/{third}/merge", headers=admin,
                               json={"other_customer_id": fourth, "reason": "fuzzing"})
    assert merged.status_code == 201, merged.text
    seeds.merges.append(merged.json()["id"])
    session_id, token, said = await _chat(client)
    seeds.sessions[session_id] = token
    seeds.conversations.append(said["conversation_id"])
    seeds.messages.append(said["message_id"])
    seeds.external.append(("chat", f"{session_id}:m1"))
    seeds.spare_customers = [(await _pushed(client, f"Spare {index}"))[0]["customer_id"] for index in range(2)]
    spare_session, spare_token, spare_said = await _chat(client)
    seeds.spare_session = (spare_session, spare_token)
    seeds.spare_conversation = spare_said["conversation_id"]
    return seeds


def _pick(values: list[Any], index: int) -> Any:
    return values[(index // 2) % len(values)]


def tamper_with(seeds: Seeds) -> Any:
    """Every other positive case: existing ids in the path and body, our widget key and verify token."""
    pools: dict[str, list[Any]] = {
        "conversation_id": seeds.conversations, "customer_id": seeds.customers,
        "message_id": seeds.messages, "merge_id": seeds.merges, "suggestion_id": seeds.suggestions,
        "session_id": list(seeds.sessions), "other_customer_id": seeds.customers,
        "in_reply_to_message_id": seeds.messages,
    }

    def tamper(case: Case, index: int) -> None:
        if index % 2:
            return
        path = case.path_parameters or {}
        for name in path:
            if name in pools:
                path[name] = _pick(pools[name], index)
        if "channel" in path and "external_id" in path:
            path["channel"], path["external_id"] = _pick(seeds.external, index)
        if isinstance(case.body, dict):
            for name in ("other_customer_id", "in_reply_to_message_id"):
                if name in case.body:  # another one than the path's: merging a customer into itself is a 409
                    case.body[name] = _pick(pools[name], index + 2)
            if "widget_key" in case.body:
                case.body["widget_key"] = WIDGET_KEY
        if case.operation.path == "/v1/channels/meta/webhook" and case.query is not None:
            case.query.update({"hub.mode": "subscribe", "hub.verify_token": META_VERIFY})

    return tamper


def signer_for(seeds: Seeds) -> Any:
    """Every other positive case: valid credentials for what the case carries."""

    def sign(case: Case, index: int, body: bytes | None) -> dict[str, str]:
        if index % 2:
            return {}
        raw = body or b""
        session = (case.path_parameters or {}).get("session_id")
        if session in seeds.sessions:
            return {"X-Chat-Session-Token": seeds.sessions[session]}
        if case.operation.path == "/v1/channels/x/webhook":
            digest = hmac.new(X_SECRET.encode(), raw, hashlib.sha256).digest()
            return {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode()}
        if case.operation.path == "/v1/channels/meta/webhook":
            digest_hex = hmac.new(META_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            return {"x-hub-signature-256": f"sha256={digest_hex}"}
        if case.operation.path == "/v1/channels/email/inbound":
            return signatures.sign([EMAIL_SECRET], f"msg_{uuid.uuid4().hex}", raw)
        return {}

    return sign


@dataclass
class Target:
    fuzzer: Fuzzer
    schema: Any
    client: httpx.AsyncClient
    seeds: Seeds


@pytest.fixture(scope="module")
async def target(postgres: EmbeddedPostgres) -> AsyncIterator[Target]:
    database_url = postgres.create_database("sportello_fuzz_ingest")
    async with running_app([COMPONENT], database_url, **CHANNELS) as (app, client):
        seeds = await _seed(client)
        fuzzer = Fuzzer(app, auth("admin"), tamper=tamper_with(seeds), sign=signer_for(seeds))
        yield Target(fuzzer, await load_schema(client), client, seeds)


# -- the fuzzing ---------------------------------------------------------------------------------------


async def test_the_running_app_documents_what_is_fuzzed(target: Target) -> None:
    served = sorted((op.ok().method.upper(), op.ok().path) for op in target.schema.get_all_operations())
    assert served == sorted(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), [_param(m, p) for m, p in OPERATIONS])
async def test_operation(target: Target, method: str, path: str) -> None:
    findings = await target.fuzzer.run(target.schema[path][method], positive=POSITIVE, negative=NEGATIVE)
    assert_only_known(findings, KNOWN_BUGS)


# -- signed webhook bodies: documented payloads with any text, damaged ones, random MIME ----------------

WEBHOOK_BODIES = 40  # per channel
X_PARSE = KnownBug("BUG-6 X parse lets non-PermanentError exceptions escape", 500,
                   ("sportello_ingest/channels/x.py",))
META_PARSE = KnownBug("BUG-7 Meta parse lets OverflowError/OSError/RecursionError escape", 500,
                      ("sportello_ingest/channels/meta.py",))
UNTYPED = KnownBug("BUG-8 X/Meta parse pass JSON values of any type on, and PostgreSQL refuses them", 500,
                   ("cannot be interpreted as an integer", "(expected str, got"))
WEBHOOK_BUGS: tuple[KnownBug, ...] = KNOWN_BUGS
_serial = itertools.count(1)
_IDS = frozenset({"id_str", "id", "mid", "comment_id"})


def _unique(document: Any) -> Any:
    """The same document with its message ids made unique, so every body is a new message (not a dup)."""
    if isinstance(document, dict):
        return {k: f"{v}-{next(_serial)}" if k in _IDS and isinstance(v, str) else _unique(v)
                for k, v in document.items()}
    if isinstance(document, list):
        return [_unique(item) for item in document]
    return document


def _documents(template: Any) -> st.SearchStrategy[Any]:
    return st.one_of(any_text.map(template), mutated(template()), with_times(template()))


WEBHOOKS: dict[str, tuple[str, st.SearchStrategy[bytes]]] = {
    "x": ("/v1/channels/x/webhook", _documents(x_payload).map(lambda d: json.dumps(_unique(d)).encode())),
    "meta": ("/v1/channels/meta/webhook", st.one_of(_documents(meta_page), _documents(meta_instagram),
                                                    _documents(meta_whatsapp)).map(
        lambda d: json.dumps(_unique(d)).encode())),
    "email": ("/v1/channels/email/inbound", mime_messages()),
}


def _signed(channel: str, body: bytes) -> dict[str, str]:
    if channel == "x":
        digest = hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()
        return {"content-type": "application/json",
                "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode()}
    if channel == "meta":
        return {"content-type": "application/json",
                "x-hub-signature-256": "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    return {"content-type": "message/rfc822", **signatures.sign([EMAIL_SECRET], f"msg_{uuid.uuid4().hex}", body)}


@pytest.mark.parametrize("channel", ["x", "meta", "email"])
async def test_signed_webhook_bodies_are_accepted_or_refused(target: Target, channel: str) -> None:
    """Correctly signed, so only the body decides: 200 with the outcome counts, or a 400 problem."""
    url, bodies = WEBHOOKS[channel]
    findings = []
    for body in examples(bodies, WEBHOOK_BODIES):
        finding = await send_raw(target.client, f"POST {url}", "POST", url, content=body,
                                 headers=_signed(channel, body), expected=(200, 400))
        if finding is not None:
            findings.append(finding)
    assert_only_known(findings, WEBHOOK_BUGS)


# -- the bugs, one request each ------------------------------------------------------------------------


def _api_message(**overrides: Any) -> dict[str, Any]:
    return {"channel": "fuzz", "external_id": f"fuzz-{uuid.uuid4().hex}",
            "author": {"id": f"fuzz-author-{uuid.uuid4().hex}", "display_name": "Ann"},
            "text": "hello", "sent_at": datetime.now(UTC).isoformat(), **overrides}


def _signed_tweet(text: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    tweet = {"id_str": f"{now}{next(_serial)}", "text": text, "timestamp_ms": str(now),
             "user": {"id_str": "1001", "name": "Ann", "screen_name": "ann"}, **changes}
    body = json.dumps({"for_user_id": "2244994945", "tweet_create_events": [tweet]}).encode()
    return {"content": body, "headers": _signed("x", body)}


def _signed_meta(document: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(_unique(document)).encode()
    return {"content": body, "headers": _signed("meta", body)}


def _meta_dm_at(stamp: Any) -> dict[str, Any]:
    document = meta_page()
    document["entry"][0]["messaging"][0]["timestamp"] = stamp
    return document


def _signed_email(raw: bytes) -> dict[str, Any]:
    return {"content": raw, "headers": {"content-type": "message/rfc822",
                                        **signatures.sign([EMAIL_SECRET], f"msg_{uuid.uuid4().hex}", raw)}}


def _session(seeds: Seeds) -> tuple[str, dict[str, str]]:
    session_id, token = seeds.spare_session
    return session_id, {"X-Chat-Session-Token": token}


# (bug, what, a request built from the seeds): each was answered 500, and must be answered 2xx/4xx.
REPRODUCTIONS: list[tuple[KnownBug, str, Any]] = [
    (NUL_IN_TEXT, "api message text", lambda s: (
        "POST", "/v1/channels/api/messages", {"json": _api_message(text="a\x00b")})),
    (NUL_IN_TEXT, "api message external_id", lambda s: (
        "POST", "/v1/channels/api/messages", {"json": _api_message(external_id=f"fuzz-\x00-{uuid.uuid4().hex}")})),
    (NUL_IN_TEXT, "api message author", lambda s: (
        "POST", "/v1/channels/api/messages", {"json": _api_message(
            author={"id": f"fuzz-{uuid.uuid4().hex}", "display_name": "Ann\x00"})})),
    (NUL_IN_TEXT, "message by external id", lambda s: ("GET", "/v1/channels/fuzz/messages/a%00b", {})),
    (NUL_IN_TEXT, "chat visitor name", lambda s: (
        "POST", "/v1/channels/chat/sessions", {"json": {"widget_key": WIDGET_KEY, "visitor": {"name": "V\x00"}}})),
    (NUL_IN_TEXT, "chat message text", lambda s: (
        "POST", f"/v1/channels/chat/sessions/{_session(s)[0]}/messages",
        {"json": {"client_message_id": uuid.uuid4().hex, "text": "hi\x00"}, "headers": _session(s)[1]})),
    (NUL_IN_TEXT, "reply text", lambda s: (
        "POST", f"/v1/conversations/{s.spare_conversation}/replies", {"json": {"text": "hi\x00"}})),
    (NUL_IN_TEXT, "reply template (JSONB)", lambda s: (
        "POST", f"/v1/conversations/{s.spare_conversation}/replies",
        {"json": {"text": "hi", "template": {"name": "\x00"}}})),
    (NUL_IN_TEXT, "block reason", lambda s: (
        "POST", f"/v1/customers/{s.spare_customers[0]}/block", {"json": {"reason": "r\x00"}})),
    (NUL_IN_TEXT, "identity external_id", lambda s: (
        "POST", f"/v1/customers/{s.spare_customers[0]}/identities",
        {"json": {"platform": "email", "external_id": f"a\x00{uuid.uuid4().hex}@fuzz.test"}})),
    (NUL_IN_TEXT, "merge reason", lambda s: (
        "POST", f"/v1/customers/{s.spare_customers[0]}/merge",
        {"json": {"other_customer_id": s.spare_customers[1], "reason": "r\x00"}})),
    (NUL_IN_TEXT, "signed X tweet text", lambda s: (
        "POST", "/v1/channels/x/webhook", _signed_tweet("my order\x00 is late"))),
    (LONE_SURROGATE, "signed X tweet text with a lone surrogate", lambda s: (
        "POST", "/v1/channels/x/webhook", _signed_tweet("my order \ud800 is late"))),
    (LONE_SURROGATE, "signed Meta comment with a lone surrogate", lambda s: (
        "POST", "/v1/channels/meta/webhook", _signed_meta(meta_page("where \udfff is it")))),
    (X_PARSE, "signed X tweet without user (KeyError)", lambda s: (
        "POST", "/v1/channels/x/webhook", _signed_tweet("hi", user=None))),
    (META_PARSE, "signed Meta DM with timestamp 1e300 (OverflowError)", lambda s: (
        "POST", "/v1/channels/meta/webhook", _signed_meta(_meta_dm_at(1e300)))),
    (UNTYPED, "signed X tweet whose author's followers_count is a string", lambda s: (
        "POST", "/v1/channels/x/webhook", _signed_tweet("hi", user={"id_str": "1002", "followers_count": "many"}))),
    (UNTYPED, "signed Meta comment whose message is a number", lambda s: (
        "POST", "/v1/channels/meta/webhook", _signed_meta(meta_page(7)))),  # type: ignore[arg-type]
    (NUL_IN_TEXT, "signed e-mail body", lambda s: (
        "POST", "/v1/channels/email/inbound", _signed_email(
            b"From: Ann <ann@fuzz.test>\r\nTo: support@acme.test\r\nSubject: hi\r\n\r\nmy order\x00 is late\r\n"))),
    (DATE_OUT_OF_RANGE, "api message sent_at year 1 +14:00", lambda s: (
        "POST", "/v1/channels/api/messages", {"json": _api_message(sent_at="0001-01-01T00:00:00+14:00")})),
    (DATE_OUT_OF_RANGE, "api message sent_at year 9999 -14:00", lambda s: (
        "POST", "/v1/channels/api/messages", {"json": _api_message(sent_at="9999-12-31T23:59:59-14:00")})),
    (DATE_OUT_OF_RANGE, "chat history after year 1 +14:00", lambda s: (
        "GET", f"/v1/channels/chat/sessions/{_session(s)[0]}/messages",
        {"params": {"after": "0001-01-01T00:00:00+14:00"}, "headers": _session(s)[1]})),
    (DATE_OUT_OF_RANGE, "chat read until year 1 +14:00", lambda s: (
        "POST", f"/v1/channels/chat/sessions/{_session(s)[0]}/read",
        {"json": {"until": "0001-01-01T00:00:00+14:00"}, "headers": _session(s)[1]})),
    (INT_OUT_OF_RANGE, "api message author followers 2**31", lambda s: (
        "POST", "/v1/channels/api/messages", {"json": _api_message(
            author={"id": f"fuzz-{uuid.uuid4().hex}", "display_name": "Ann", "followers": 2**31})})),
]


@pytest.mark.parametrize("build", [
    pytest.param(build, id=f"{bug.name.split()[0]} {what}") for bug, what, build in REPRODUCTIONS])
async def test_fixed_bug_stays_fixed(target: Target, build: Any) -> None:
    """Answered 2xx or a 4xx problem (it used to raise, a 500)."""
    method, url, kwargs = build(target.seeds)
    headers = {**auth("admin"), **kwargs.pop("headers", {})}
    answer = await target.client.request(method, url, headers=headers, **kwargs)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith(PROBLEM_JSON), answer.text


async def test_documented_422_matches_what_is_sent(target: Target) -> None:
    answer = await target.client.get("/v1/customers/not-a-uuid", headers=auth("admin"))
    assert answer.status_code == 422
    documented = target.schema["/v1/customers/{customer_id}"]["GET"].definition.raw["responses"]["422"]
    assert answer.headers["content-type"].split(";")[0] in documented["content"], (
        f"documented {sorted(documented['content'])}, sent {answer.headers['content-type']}")

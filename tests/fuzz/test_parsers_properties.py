"""Property tests for the channel adapters' parsers: whatever arrives, ``parse`` returns well-typed messages
or refuses the body with ``PermanentError`` (which intake answers with a 400 problem and marks the archived
delivery failed). Anything else escaping ``parse`` is a 500 for the platform, which retries the delivery,
and leaves the archived delivery without an outcome.

Three properties per platform: any bytes; the platform's documented payload with parts dropped, changed or
replaced by arbitrary JSON; and the documented payload carrying any text (every Unicode category, emoji,
RTL, combining marks, NUL, lone surrogates, 100 kB). E-mail gets random MIME: headers, charsets, transfer
encodings, multiparts. Derandomised: the same examples every run.

Bugs this suite found (BUG-6, 7, 8) are fixed; a deterministic reproduction of each stays at the end of
the module as a regression test. ``check_property`` still collects findings a classifier names as known,
should a new known bug ever need pinning.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import traceback
import types
import typing
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from sportello.errors import PermanentError
from sportello.values import repaired_text
from sportello_ingest.channels import base
from sportello_ingest.channels.api import ApiChannel
from sportello_ingest.channels.base import Parsed
from sportello_ingest.channels.chat import ChatAdapter
from sportello_ingest.channels.email import EmailAdapter, SmtpServer
from sportello_ingest.channels.meta import FacebookComments, Instagram, Messenger, WhatsApp, parse_webhook
from sportello_ingest.channels.x import XAdapter
from tests.fuzz.payloads import (
    api_body,
    chat_body,
    meta_instagram,
    meta_page,
    meta_whatsapp,
    mime_messages,
    x_payload,
)
from tests.fuzz.strategies import any_json, any_text, mutated, with_times
from tests.fuzz.support import check_property

EXAMPLES = 150  # per property; the whole module runs in well under a minute

X = XAdapter("consumer-secret", "access-token", "http://127.0.0.1:9")
CHAT = ChatAdapter("session-secret", "key=acme")
API = ApiChannel("", "")
EMAIL = EmailAdapter("whsec_ZW1haWw=", SmtpServer("127.0.0.1", 9))
GRAPH = [cls("token", "http://127.0.0.1:9") for cls in (FacebookComments, Messenger, Instagram, WhatsApp)]


def _meta_parse(body: bytes) -> Parsed:
    """The webhook parse, checked against what each sending channel keeps of the same body."""
    parsed = parse_webhook(body)
    for channel in GRAPH:
        mine = channel.parse(body)
        # (Not whole messages: an Instagram entry without a time is stamped "now", at each parse.)
        assert [(m.external_id, m.text) for m in mine.messages] == [
            (m.external_id, m.text) for m in parsed.messages if m.channel == channel.channel]
        assert [(s.external_id, s.status) for s in mine.statuses] == [
            (s.external_id, s.status) for s in parsed.statuses if s.channel == channel.channel]
    return parsed


# -- known bugs ----------------------------------------------------------------------------------------

# A classifier gets what went wrong ("escaped": an exception other than PermanentError; "untyped": a field
# of the wrong type) with its detail, and names the known bug it is, or None: new, the property fails.
# BUG-6 (X parse let KeyError & co escape), BUG-7 (Meta: huge timestamps, deep nesting) and BUG-8 (values of
# any JSON type passed on) are fixed: every adapter parses inside ``platform_format`` and the parsed shapes
# check their own fields. Their reproductions stay below as regression tests.


def _none_known(kind: str, detail: str) -> str | None:
    return None


Classifier = Callable[[str, str], str | None]


# -- what a parse may return ---------------------------------------------------------------------------


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is typing.Any:
        return True
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if origin is tuple:
        return isinstance(value, tuple) and all(_fits(item, typing.get_args(hint)[0]) for item in value)
    if hint is type(None):
        return value is None
    if hint is dt.datetime:
        return isinstance(value, dt.datetime) and value.tzinfo is not None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def untyped_fields(item: Any, prefix: str = "") -> list[str]:
    """Fields of a parsed message/receipt (and its author) whose value is not of the declared type."""
    wrong = []
    hints = typing.get_type_hints(type(item), globalns=vars(base))
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        if dataclasses.is_dataclass(value):
            wrong += untyped_fields(value, f"{prefix}{f.name}.")
        elif not _fits(value, hints[f.name]):
            wrong.append(f"{prefix}{f.name}={value!r:.80} is not {hints[f.name]}")
    return wrong


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "sportello_ingest" in f.filename] or frames
    return " <- ".join(f"{f.name}:{f.lineno}" for f in reversed(ours[-3:]))


def judge(parse: Callable[[bytes], Parsed], body: bytes, known: Classifier,
          found: dict[str, list[str]]) -> Parsed | None:
    """Parse ``body``: the Parsed, or None when refused with PermanentError. A known bug's finding is
    recorded in ``found``; anything else fails the property (and Hypothesis shrinks it)."""
    shown = body[:300]
    try:
        parsed = parse(body)
    except PermanentError:
        return None
    except Exception as error:
        detail = f"{type(error).__name__}: {str(error)[:200]} at {_where(error)}"
        bug = known("escaped", detail)
        if bug is None:
            raise AssertionError(f"parse raised {detail} for {shown!r}") from error
        found.setdefault(bug, []).append(f"{detail} for {shown!r}")
        return None
    assert isinstance(parsed, Parsed)
    for item in [*parsed.messages, *parsed.statuses]:
        wrong = untyped_fields(item)
        if wrong:
            bug = known("untyped", "; ".join(wrong))
            assert bug is not None, f"{'; '.join(wrong)} for {shown!r}"
            found.setdefault(bug, []).append(f"{'; '.join(wrong)} for {shown!r}")
    return parsed


def _encoded(document: Any) -> bytes:
    # ASCII JSON: lone surrogates travel as \\u escapes, as a platform's encoder may send them.
    return json.dumps(document).encode()


def _carried(text: str) -> str:
    """The text as a JSON reader gets it back: adjacent escaped surrogates pair up (\\ud800\\udc00 is U+10000)."""
    return str(json.loads(json.dumps(text)))


def _stored(text: str) -> str:
    """The text as a platform's message keeps it: what PostgreSQL cannot hold becomes U+FFFD."""
    return repaired_text(_carried(text))


def _unstorable(text: str) -> bool:
    return "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)


# JSON nested deeper than the interpreter's recursion limit, and 100 kB of it (built when drawn).
deep_json = st.sampled_from((b"[", b'{"a":', b"[{\"b\":")).map(lambda unit: unit * (100_000 // len(unit)))
any_bytes = st.binary(max_size=2000) | any_json.map(_encoded) | deep_json | st.sampled_from(
    [b"", b"{}", b"[]", b"null", b"\xff\xfe", b"\x00" * 64, b"\xef\xbb\xbf{}"])

PARSERS: dict[str, tuple[Callable[[bytes], Parsed], Classifier]] = {
    "x": (X.parse, _none_known),
    "meta": (_meta_parse, _none_known),
    "chat": (CHAT.parse, _none_known),
    "api": (API.parse, _none_known),
    "email": (EMAIL.parse, _none_known),
}
DOCUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "x": mutated(x_payload()) | with_times(x_payload()),
    "meta": st.one_of(*(strategy(document()) for document in (meta_page, meta_instagram, meta_whatsapp)
                        for strategy in (mutated, with_times))),
    "chat": mutated(chat_body()) | with_times(chat_body()),
    "api": mutated(api_body()) | with_times(api_body()),
}
@pytest.mark.parametrize("name", list(PARSERS))
def test_any_bytes_are_parsed_or_refused(name: str) -> None:
    parse, known = PARSERS[name]

    def prop(body: bytes, found: dict[str, list[str]]) -> None:
        judge(parse, body, known, found)

    check_property(any_bytes, prop)


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_damaged_documented_payloads_are_parsed_or_refused(name: str) -> None:
    parse, known = PARSERS[name]

    def prop(document: Any, found: dict[str, list[str]]) -> None:
        judge(parse, _encoded(document), known, found)

    check_property(DOCUMENTS[name], prop, count=EXAMPLES * 2)


# -- any text in a documented payload -----------------------------------------------------------------


def test_x_keeps_any_text() -> None:
    def prop(sent: str, found: dict[str, list[str]]) -> None:
        parsed, text = judge(X.parse, _encoded(x_payload(sent)), _none_known, found), _stored(sent)
        assert parsed is not None, "a documented payload was refused"
        assert [m.text for m in parsed.messages] == [text, text]
        assert len(parsed.statuses) == 1

    check_property(any_text, prop)


@pytest.mark.parametrize("document", [meta_page, meta_instagram, meta_whatsapp])
def test_meta_keeps_any_text(document: Callable[[str], dict[str, Any]]) -> None:
    def prop(sent: str, found: dict[str, list[str]]) -> None:
        parsed, text = judge(_meta_parse, _encoded(document(sent)), _none_known, found), _stored(sent)
        assert parsed is not None, "a documented payload was refused"
        texts = [m.text for m in parsed.messages]
        if document is meta_whatsapp:
            assert texts == [text, "Yes", f"[image] {text}" if text else "[image]"]
        elif text:
            assert texts == [text, text, "[attachment: image]", text]
        else:  # no text: a comment becomes a marker, a text-less DM is skipped
            assert texts == ["[attachment]", "[attachment: image]"]
        assert parsed.statuses

    check_property(any_text, prop)


def test_chat_keeps_any_text() -> None:
    def prop(sent: str, found: dict[str, list[str]]) -> None:
        parsed, text = judge(CHAT.parse, _encoded(chat_body(sent)), _none_known, found), _carried(sent)
        if parsed is None:
            assert _unstorable(text), "only text PostgreSQL cannot hold may be refused"
        else:
            assert [m.text for m in parsed.messages] == [repaired_text(text)]

    check_property(any_text, prop)


def test_api_keeps_any_text() -> None:
    def prop(sent: str, found: dict[str, list[str]]) -> None:
        parsed, text = judge(API.parse, _encoded(api_body(sent)), _none_known, found), _carried(sent)
        if parsed is None:  # the schema's limits: non-blank, at most 10,000 characters, valid Unicode
            assert not text.strip() or len(text) > 10_000 or _unstorable(text), "refused a valid text"
        else:
            (message,) = parsed.messages
            assert message.text and message.text in text and len(message.text) <= 10_000

    check_property(any_text, prop)


# -- e-mail: random MIME ------------------------------------------------------------------------------

def test_email_random_mime_is_parsed_or_refused() -> None:
    def prop(raw: bytes, found: dict[str, list[str]]) -> None:
        judge(EMAIL.parse, raw, _none_known, found)

    check_property(mime_messages(), prop, count=EXAMPLES * 2)


@pytest.mark.parametrize("charset", ["utf-8", "utf-16", "iso-8859-1", "shift_jis"])
def test_email_keeps_any_text_it_can_encode(charset: str) -> None:
    def prop(text: str, found: dict[str, list[str]]) -> None:
        try:
            content = text.encode(charset)
        except UnicodeError:
            return  # the charset cannot carry it: no well-formed mail has it
        raw = (b"From: Ann <ann@example.com>\r\nTo: support@acme.test\r\nSubject: order\r\n"
               b"Message-ID: <x1@example.com>\r\nMIME-Version: 1.0\r\n"
               + f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
               + base64.encodebytes(content))
        parsed = judge(EMAIL.parse, raw, _none_known, found)
        assert parsed is not None, "a well-formed e-mail was refused"
        (message,) = parsed.messages
        assert message.external_id == "x1@example.com" and message.author.id == "ann@example.com"
        # Quoted lines are dropped and lines trimmed, and a blank body falls back to the subject.
        kept = [repaired_text(line.strip()) for line in text.splitlines() if line.strip()]
        assert message.text == "order" or any(line in message.text for line in kept) or not kept

    check_property(any_text, prop)


# -- the bugs, one body each ---------------------------------------------------------------------------


def _refused_or_typed(parse: Callable[[bytes], Parsed], body: bytes) -> None:
    """Fixed means: refused with PermanentError, or parsed into well-typed messages."""
    try:
        parsed = parse(body)
    except PermanentError:
        return
    for item in [*parsed.messages, *parsed.statuses]:
        assert not untyped_fields(item), untyped_fields(item)


def _x_without(path: tuple[Any, ...]) -> bytes:
    document = x_payload()
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return _encoded(document)


@pytest.mark.parametrize("body", [
    pytest.param(_x_without(("tweet_create_events", 0, "user")), id="tweet without user (KeyError)"),
    pytest.param(_x_without(("direct_message_events", 0, "message_create")), id="DM without message_create"),
    pytest.param(_x_without(("direct_message_mark_read_events", 0, "sender_id")), id="read without sender_id"),
    pytest.param(_encoded({**x_payload(), "tweet_create_events": [True]}), id="tweet not an object (TypeError)"),
    pytest.param(_encoded({**x_payload(), "users": []}), id="users a list (AttributeError)"),
    pytest.param(_encoded({"for_user_id": "1", "direct_message_mark_read_events": [
        {"created_timestamp": "soon", "sender_id": "1"}]}), id="timestamp not a number (ValueError)"),
    pytest.param(_encoded({"for_user_id": "1", "tweet_create_events": [
        {**x_payload()["tweet_create_events"][0], "timestamp_ms": str(10**20)}]}), id="timestamp beyond time_t"),
    pytest.param(b"[" * 100_000, id="JSON nested 100000 deep (RecursionError)"),
])
def test_bug6_x_refuses_malformed_events(body: bytes) -> None:
    _refused_or_typed(X.parse, body)


def _meta_with_timestamp(stamp: Any) -> bytes:
    document = meta_page()
    document["entry"][0]["messaging"][0]["timestamp"] = stamp
    return _encoded(document)


@pytest.mark.parametrize("body", [
    *[pytest.param(_meta_with_timestamp(stamp), id=f"timestamp {label}") for label, stamp in [
        ("1e300", 1e300), ("Infinity", float("inf")), ("10**20", 10**20), ("10**400", 10**400), ("'1e400'", "1e400")]],
    pytest.param(b'{"object": "page", "entry": ' + b"[" * 100_000, id="JSON nested 100000 deep (RecursionError)"),
])
def test_bug7_meta_refuses_what_it_cannot_read(body: bytes) -> None:
    _refused_or_typed(_meta_parse, body)


@pytest.mark.parametrize(("parse", "body"), [
    pytest.param(_meta_parse, _encoded(meta_page(text=[0])), id="meta comment message a list"),  # type: ignore[arg-type]
    pytest.param(_meta_parse, _encoded({"object": "page", "entry": [{"id": "10", "changes": [{
        "field": "feed", "value": {**meta_page()["entry"][0]["changes"][0]["value"],
                                   "from": {"id": "5001", "name": {"first": "Ann"}}}}]}]}),
                 id="meta comment author name an object"),
    pytest.param(X.parse, _encoded({**x_payload(), "users": {"1001": {"followers_count": "many"}}}),
                 id="x DM sender followers a string"),
    pytest.param(X.parse, _encoded({**x_payload(), "tweet_create_events": [{
        **x_payload()["tweet_create_events"][0], "text": 7, "extended_tweet": {}}]}), id="x tweet text a number"),
])
def test_bug8_parsers_type_what_they_pass_on(parse: Callable[[bytes], Parsed], body: bytes) -> None:
    _refused_or_typed(parse, body)

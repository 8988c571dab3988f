"""The one interface every channel adapter implements, and the normalised shapes it speaks.

Inbound, an adapter turns a verified request body into :class:`InboundMessage` and
:class:`StatusUpdate` items; ingest's service does the rest (dedup, identity, threading, events) the same
way for every platform. Outbound, it turns a :class:`SendRequest` into one platform API call and says
what happened: a :class:`SendResult`, or :class:`RateLimited` / ``TransientError`` (retried with
backoff) / ``PermanentError`` (the reply fails, with the platform's reason).
"""

from __future__ import annotations

import hmac
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from sportello.errors import PermanentError, TransientError
from sportello.http.problems import Forbidden, InvalidRequest, Unauthorized
from sportello.http.retry_after import retry_after_of
from sportello.values import INT32_MAX, plausible_time, repaired_text

Visibility = Literal["public", "private"]
# Flag on a message whose platform time was not plausible (replaced by the time we received it).
IMPLAUSIBLE_TIME_FLAG = "implausible_sent_at"
Direction = Literal["inbound", "outbound"]
DeliveryStatus = Literal["pending", "sent", "delivered", "read", "failed"]


@dataclass(frozen=True)
class Author:
    id: str
    display_name: str  # the id itself when the platform does not name the author (Messenger DMs)
    handle: str | None = None
    followers: int | None = None
    verified: bool = False

    def __post_init__(self) -> None:
        _repair_texts(self, "id", "display_name", optional=("handle",))
        # A hint for priority, never worth refusing a message over: junk becomes unknown.
        followers = self.followers
        if not isinstance(followers, int) or isinstance(followers, bool) or followers < 0:
            followers = None
        object.__setattr__(self, "followers", None if followers is None else min(followers, INT32_MAX))
        if not isinstance(self.verified, bool):
            object.__setattr__(self, "verified", self.verified is True)


@dataclass(frozen=True)
class InboundMessage:
    """A message as seen on a platform, already verified and parsed."""

    channel: str
    account: str  # the brand account that received it, e.g. "x:2244994945"
    external_id: str
    author: Author
    text: str
    sent_at: datetime
    visibility: Visibility
    direction: Direction = "inbound"
    # External ids this message answers, nearest first (e-mail has In-Reply-To then References).
    reply_to: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    subject: str | None = None
    # For a brand message seen on the platform (direction outbound): the customer it addresses.
    recipient_id: str | None = None

    def __post_init__(self) -> None:
        _repair_texts(self, "channel", "account", "external_id", "text",
                      optional=("subject", "recipient_id"))
        _check_choice("visibility", self.visibility, ("public", "private"))
        _check_choice("direction", self.direction, ("inbound", "outbound"))
        object.__setattr__(self, "reply_to", _texts("reply_to", self.reply_to))
        object.__setattr__(self, "flags", _texts("flags", self.flags))
        sent_at = _moment("sent_at", self.sent_at)
        if sent_at is None:  # a broken clock must not cost the customer's message: keep it, mark it
            sent_at = datetime.now(UTC)
            object.__setattr__(self, "flags", (*self.flags, IMPLAUSIBLE_TIME_FLAG))
        object.__setattr__(self, "sent_at", sent_at)


@dataclass(frozen=True)
class StatusUpdate:
    """A platform's delivery receipt for a message we sent.

    Either one message (``external_id``) or, for watermark receipts (Messenger's ``read``), every
    message sent to ``recipient_id`` on ``account`` up to ``until``.
    """

    channel: str
    status: DeliveryStatus
    at: datetime
    external_id: str | None = None
    account: str | None = None
    recipient_id: str | None = None
    until: datetime | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        _repair_texts(self, "channel", optional=("external_id", "account", "recipient_id", "error"))
        _check_choice("status", self.status, ("pending", "sent", "delivered", "read", "failed"))
        object.__setattr__(self, "at", _moment("at", self.at) or datetime.now(UTC))
        if self.until is not None:
            object.__setattr__(self, "until", _moment("until", self.until) or datetime.now(UTC))


# -- what an adapter hands over is checked once, here: a platform sending a number where a string goes,
# a NUL in a text or a year-30000 timestamp is answered as a malformed body, never as a crash.


def _repair_texts(item: object, *required: str, optional: tuple[str, ...] = ()) -> None:
    for name in (*required, *optional):
        value = getattr(item, name)
        if value is None and name in optional:
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, not {type(value).__name__}")
        object.__setattr__(item, name, repaired_text(value))


def _texts(name: str, values: object) -> tuple[str, ...]:
    if not isinstance(values, tuple | list) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{name} must be strings")
    return tuple(repaired_text(v) for v in values)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}")


def _moment(name: str, value: object) -> datetime | None:
    """The time in UTC; None when it is not plausible (before 1970, after 2200, out of range)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TypeError(f"{name} must be a time with a UTC offset")
    try:
        return plausible_time(value)
    except ValueError:
        return None


_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError, OSError,
              RecursionError)


@contextmanager
def platform_format(platform: str) -> Iterator[None]:
    """Parse a platform's body inside this: whatever a malformed body makes the parsing code raise
    (a missing key, a list where an object goes, a timestamp past year 9999, JSON nested too deep)
    becomes ``PermanentError``, which intake answers with a 400 problem while the archived body waits
    for ``replay`` after a fix."""
    try:
        yield
    except PermanentError:
        raise
    except _MALFORMED as exc:
        raise PermanentError(f"not a {platform} payload we understand: {type(exc).__name__}: "
                             f"{str(exc)[:300]}") from exc


@dataclass(frozen=True)
class Parsed:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)


@dataclass(frozen=True)
class SendRequest:
    """An agent's reply, with everything the platform call needs (resolved by ingest beforehand)."""

    message_id: uuid.UUID
    channel: str
    account: str
    visibility: Visibility
    text: str
    # The customer's id on this platform (for a DM / Messenger / WhatsApp / e-mail recipient).
    recipient_id: str | None
    # The external id being answered: the post for a public reply, the comment for a private reply,
    # the e-mail for In-Reply-To.
    in_reply_to: str | None
    # private reply to a public comment (the customer has no private identity on the platform yet)
    private_reply_to_comment: bool = False
    references: tuple[str, ...] = ()
    subject: str | None = None
    template: Mapping[str, Any] | None = None
    # The customer's last inbound private message in the conversation: platforms with a messaging
    # window (Messenger, Instagram) choose how to send by it at send time.
    last_private_at: datetime | None = None


@dataclass(frozen=True)
class SendResult:
    external_id: str
    # Platforms answering a private reply name the customer's private id (e.g. a Messenger PSID):
    # ingest links it to the customer so their next DM continues the same conversation.
    recipient_id: str | None = None
    status: DeliveryStatus = "sent"


class RateLimited(TransientError):
    def __init__(self, retry_after_seconds: float, detail: str = "rate limited") -> None:
        super().__init__(f"{detail}; retry after {retry_after_seconds:.0f}s")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class ReplyContext:
    """What ingest knows about a conversation when an agent asks to reply in it."""

    visibility: Visibility
    text: str
    has_template: bool
    # The customer's last inbound message in this channel, public and private.
    last_public_external_id: str | None
    last_private_at: datetime | None
    private_recipient_id: str | None
    now: datetime


class ChannelAdapter(ABC):
    """A platform. Subclasses set ``channel`` and implement parse and send."""

    channel: str
    supports: tuple[Visibility, ...] = ("public", "private")

    def recipient_platform(self, channel: str) -> str:
        """Where the customer's private id lives for a conversation on ``channel``: by default that
        channel's own identities (Facebook comments: their Messenger PSID)."""
        return channel

    def reply_channel(self, channel: str, visibility: Visibility) -> str:
        """The channel a reply in a conversation on ``channel`` travels on, where its platform id lives
        (a private answer to a Facebook comment is a Messenger message): echoes and receipts of it are
        looked up there. By default the conversation's own channel."""
        return channel

    def needs_private_reply(self, context: ReplyContext) -> bool:
        """Whether a private reply must be the platform's one private reply to the customer's comment
        rather than a direct message. Only platforms with comments have such a thing."""
        return False

    @abstractmethod
    def parse(self, body: bytes) -> Parsed:
        """Parse a verified webhook body; raise ``PermanentError`` if it is not the platform's format."""

    @abstractmethod
    async def send(self, client: httpx.AsyncClient, request: SendRequest) -> SendResult:
        """Make the platform call for one reply."""

    def check_reply(self, context: ReplyContext) -> None:
        """Reject, before queueing, a reply the platform would refuse (raise a Problem)."""
        if context.visibility not in self.supports:
            raise InvalidRequest(f"{self.channel} has no {context.visibility} replies; "
                                 f"use one of: {', '.join(self.supports)}.")


def verify_signature(given: str | None, expected: str, *, header: str) -> None:
    """Constant-time comparison; a missing signature is 401, a wrong one 403."""
    if not given:
        raise Unauthorized(f"Missing {header} header.")
    if not hmac.compare_digest(given.strip(), expected):
        raise Forbidden(f"{header} does not match the request body.")


def raise_for_platform_status(response: httpx.Response, *, retry_after: float | None = None) -> None:
    """Map an HTTP answer to the retry policy: 429 waits, 5xx retries, other 4xx fail the reply."""
    if response.status_code == 429:
        raise RateLimited(retry_after if retry_after is not None else retry_after_of(response),
                          f"{response.request.url.host} answered 429")
    if response.status_code >= 500:
        raise TransientError(f"platform error {response.status_code}")
    if response.status_code >= 400:
        raise PermanentError(f"platform refused the message ({response.status_code}): "
                             f"{response.text[:300]}")

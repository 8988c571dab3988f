"""Fan conversation events out to this replica's live-stream clients, each through its own filter.

Every event gets an id ``<replica epoch>-<sequence>``. The last ``replay_size`` events are kept, so
a client reconnecting to the same replica with ``Last-Event-ID`` gets what it missed; when that is
impossible (another replica, a restart, or too long ago) it gets a ``resync`` event: reload the
lists, then follow the stream. A client whose queue is full is not waited for: it is ended with an
``overflow`` event, so one slow reader never delays the others.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from dataclasses import dataclass

import structlog

from sportello.contracts import Envelope
from sportello.http.auth import Scope
from sportello_gateway.edge import metrics
from sportello_gateway.edge.scope import Owner, ScopeIndex

EVERYTHING = Scope(everything=True)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StreamEvent:
    sequence: int
    id: str
    type: str
    conversation_id: uuid.UUID
    owner: Owner | None  # None: not resolved (the lookup failed); only unscoped callers get it
    data: str  # the SSE data line: JSON, built once for every client


@dataclass(frozen=True)
class Notice:
    """Not an event: ``resync`` (what was missed cannot be replayed: reload, then go on following)
    or why the stream ends (``overflow``, ``shutdown``)."""

    kind: str

    @property
    def final(self) -> bool:
        return self.kind != "resync"


@dataclass(frozen=True)
class StreamFilter:
    scope: Scope = EVERYTHING  # whose conversations: sportello.http.auth.scope_of(caller)
    conversation_id: uuid.UUID | None = None
    types: frozenset[str] | None = None

    def admits(self, event: StreamEvent) -> bool:
        if self.conversation_id is not None and event.conversation_id != self.conversation_id:
            return False
        if self.types is not None and event.type not in self.types:
            return False
        owner = event.owner or Owner(None, None)  # nobody owns it yet: only "everything" sees it
        return self.scope.allows(owner.team, owner.agent_id)


class StreamClient:
    def __init__(self, stream_filter: StreamFilter, queue_size: int) -> None:
        self.filter = stream_filter
        self.queue: asyncio.Queue[StreamEvent | Notice] = asyncio.Queue(queue_size + 1)
        self._capacity = queue_size
        self.ended: str | None = None
        # Where the client stands once its queue is delivered (the ``ready`` frame's id): a
        # reconnect from there misses nothing. Set by the hub when it connects the client.
        self.position = ""

    def offer(self, event: StreamEvent) -> None:
        if self.ended is not None:
            return
        if self.queue.qsize() >= self._capacity:
            metrics.STREAM_OVERFLOWS.inc()
            self.end("overflow")
            return
        self.queue.put_nowait(event)

    def end(self, reason: str) -> None:
        """The client's queue holds only the ending from now on (what was queued is dropped: the
        client must reload anyway)."""
        if self.ended is not None:
            return
        self.ended = reason
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(Notice(reason))


class StreamHub:
    def __init__(self, scope: ScopeIndex, *, queue_size: int, replay_size: int) -> None:
        self.scope = scope
        self.epoch = uuid.uuid4().hex[:12]
        self._queue_size = queue_size
        self._sequence = 0
        self._recent: deque[StreamEvent] = deque(maxlen=replay_size)
        self._clients: set[StreamClient] = set()
        self.closed = False

    @property
    def last_id(self) -> str:
        return f"{self.epoch}-{self._sequence}"

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def publish(self, envelope: Envelope) -> None:
        conversation_id = getattr(envelope.data, "conversation_id", None)
        if not isinstance(conversation_id, uuid.UUID):
            return
        self.scope.learn(envelope)
        try:
            owner: Owner | None = await self.scope.owner(conversation_id)
        except Exception as exc:  # the read model is away: deliver to those who see everything
            log.warning("gateway.stream.scope_unknown", conversation_id=str(conversation_id),
                        error=type(exc).__name__)
            owner = None
        self._sequence += 1
        event = StreamEvent(
            sequence=self._sequence, id=f"{self.epoch}-{self._sequence}", type=envelope.type,
            conversation_id=conversation_id, owner=owner,
            data=json.dumps({
                "event_id": str(envelope.id), "type": envelope.type, "version": envelope.version,
                "occurred_at": envelope.occurred_at.isoformat(),
                "conversation_id": str(conversation_id),
                "data": envelope.data.model_dump(mode="json"),
            }, separators=(",", ":")),
        )
        metrics.STREAM_EVENTS.labels(envelope.type).inc()
        self._recent.append(event)
        for client in list(self._clients):
            if client.filter.admits(event):
                client.offer(event)
                if client.ended is not None:
                    # Its generator removes it too, unless it never started (the caller left
                    # before the first byte): never keep feeding a client nobody reads.
                    self.disconnect(client)

    def connect(self, stream_filter: StreamFilter, last_event_id: str | None = None) -> StreamClient:
        """A new client, with what it missed since ``last_event_id`` already queued (or a resync).

        Synchronous on purpose: no event can be published between the replay and the registration.
        """
        client = StreamClient(stream_filter, self._queue_size)
        client.position = self.last_id
        if self.closed:
            client.end("shutdown")
            return client
        if last_event_id:
            missed = self._since(last_event_id)
            admitted = [e for e in missed if stream_filter.admits(e)] if missed is not None else None
            if admitted is None or len(admitted) > self._queue_size:
                metrics.STREAM_RESYNCS.inc()
                client.queue.put_nowait(Notice("resync"))
            else:
                for event in admitted:
                    client.queue.put_nowait(event)
                # Until the replay is delivered, the client stands where it said it was.
                client.position = last_event_id.strip()
        self._clients.add(client)
        metrics.STREAM_CLIENTS.inc()
        return client

    def disconnect(self, client: StreamClient) -> None:
        if client in self._clients:
            self._clients.discard(client)
            metrics.STREAM_CLIENTS.dec()

    def close(self) -> None:
        """Shutting down: every stream ends with a ``shutdown`` event (clients reconnect elsewhere)."""
        self.closed = True
        for client in list(self._clients):
            client.end("shutdown")

    def _since(self, last_event_id: str) -> list[StreamEvent] | None:
        """Events after ``last_event_id``, or None when they cannot all be replayed."""
        epoch, _, sequence_text = last_event_id.strip().partition("-")
        if epoch != self.epoch or not sequence_text.isdigit():
            return None  # another replica's id, or this one's before a restart
        sequence = int(sequence_text)
        if sequence > self._sequence:
            return None
        oldest = self._recent[0].sequence if self._recent else self._sequence + 1
        if sequence + 1 < oldest:
            return None  # some of what it missed is no longer kept
        return [event for event in self._recent if event.sequence > sequence]

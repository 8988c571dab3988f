"""Priority consuming message.received on the in-process bus, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sportello.bus.codec import decode, encode
from sportello.contracts import Author, Envelope, MessageReceived, MessageScored
from sportello.topics import MESSAGES_RECEIVED, MESSAGES_SCORED
from sportello_priority.component import COMPONENT
from tests.support.app import running_app
from tests.support.waiting import eventually


def _received(conversation: uuid.UUID, text: str, direction: str = "inbound") -> Envelope:
    return Envelope.wrap(
        MessageReceived(
            message_id=uuid.uuid4(), conversation_id=conversation, customer_id=uuid.uuid4(),
            conversation_opened=False, channel="chat", external_id=uuid.uuid4().hex,
            direction=direction, author=Author(id="a", display_name="A"),  # type: ignore[arg-type]
            text=text, sent_at=datetime.now(UTC), received_at=datetime.now(UTC),
        ),
        source="test", correlation_id="c", subject=str(conversation),
    )


async def test_scores_inbound_once_and_tracks_conversation_priority(database_url: str) -> None:
    conversation = uuid.uuid4()
    angry = _received(conversation, "Unacceptable, still waiting, worst service!!")
    calm = _received(conversation, "ok thanks")
    reply = _received(conversation, "we are on it", direction="outbound")
    async with running_app([COMPONENT], database_url) as (app, _):
        bus = app.state.runtime.bus
        # The angry one twice: a redelivery must not produce a second score.
        await bus.publish([encode(e, MESSAGES_RECEIVED) for e in (angry, angry, calm, reply)])

        def scores() -> list[MessageScored]:
            events = (decode(r, MESSAGES_SCORED).data for r in bus.records(MESSAGES_SCORED.name))
            return [s for s in events if s.conversation_id == conversation]  # type: ignore[attr-defined]

        await eventually(lambda: len(scores()) >= 2)
        await asyncio.sleep(0.3)  # room for a wrong third score (the redelivery) to show up
        scored = scores()
    assert [s.message_id for s in scored] == [angry.data.message_id, calm.data.message_id]  # type: ignore[attr-defined]
    first, second = scored
    assert first.sentiment.label == "negative" and first.score > second.score
    # A calm follow-up does not lower the conversation's priority: the angry message is unanswered.
    assert second.conversation_priority == first.score

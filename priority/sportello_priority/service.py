"""Priority's rules: score inbound messages; a conversation is as urgent as its most urgent message."""

from __future__ import annotations

from sportello.contracts import MessageReceived, MessageScored
from sportello.db import Tx
from sportello_priority import scorer
from sportello_priority.repository import ScoreRepository


async def score_message(tx: Tx, message: MessageReceived) -> MessageScored | None:
    if message.direction != "inbound":
        return None  # the brand's own replies are not customer demand
    repo = ScoreRepository(tx.session)
    result = scorer.score(message.text, message.author.followers)
    saved = await repo.save(
        dict(message_id=message.message_id, conversation_id=message.conversation_id,
             customer_id=message.customer_id, score=result.value,
             sentiment_label=result.sentiment.label, sentiment_score=result.sentiment.score,
             breakdown=[f.model_dump() for f in result.breakdown], scorer=scorer.SCORER_NAME)
    )
    if not saved:
        return None
    scored = MessageScored(
        message_id=message.message_id, conversation_id=message.conversation_id,
        customer_id=message.customer_id, channel=message.channel, sent_at=message.sent_at,
        sentiment=result.sentiment, score=result.value, breakdown=result.breakdown,
        conversation_priority=await repo.conversation_priority(message.conversation_id),
        scorer=scorer.SCORER_NAME,
    )
    await tx.outbox.add(scored, subject=str(message.conversation_id))
    return scored

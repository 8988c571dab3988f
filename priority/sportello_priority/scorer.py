"""The baseline scorer: sentiment from a lexicon, priority as a sum of explained contributions.

priority (0..100) = base 10
                  + up to 35 for negative sentiment (how angry)
                  + up to 30 for urgency (urgent words and phrases, shouting)
                  + up to 25 for influence (followers, log scale: 1M followers = 25)
Each contribution comes with a one-line reason, so an agent or a supervisor can see why a message
jumped the queue. Deterministic and fast (pure Python, no model): suitable for the hot path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sportello.contracts import PriorityFactor, Sentiment
from sportello_priority.lexicon import (
    NEGATIONS,
    NEGATIVE,
    POSITIVE,
    URGENT_PHRASES,
    URGENT_WORDS,
)

SCORER_NAME = "baseline-lexicon-v1"
_WORD = re.compile(r"[a-zà-ÿ']+")
_BASE = 10.0
_SENTIMENT_MAX = 35.0
_URGENCY_MAX = 30.0
_INFLUENCE_MAX = 25.0


@dataclass(frozen=True)
class Score:
    sentiment: Sentiment
    value: float
    breakdown: tuple[PriorityFactor, ...]


def sentiment_of(text: str) -> Sentiment:
    words = _WORD.findall(text.lower())
    total = 0.0
    for index, word in enumerate(words):
        weight = NEGATIVE.get(word, POSITIVE.get(word, 0.0))
        if weight and any(w in NEGATIONS for w in words[max(0, index - 3):index]):
            weight = -weight * 0.5  # "not good" is mildly negative, "not bad" mildly positive
        total += weight
    if text.count("!") >= 2 and total < 0:
        total -= 1.0  # repeated exclamation marks amplify a complaint
    # VADER's normalisation: maps any sum into (-1, 1) smoothly.
    score = total / math.sqrt(total * total + 15) if total else 0.0
    label = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
    return Sentiment(label=label, score=round(score, 4))


def _urgency(text: str) -> tuple[float, str]:
    lowered = text.lower()
    words = set(_WORD.findall(lowered))
    hits = sorted(words & URGENT_WORDS) + [p for p in URGENT_PHRASES if p in lowered]
    letters = [c for c in text if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.6
    value = min(_URGENCY_MAX, 12.0 * len(hits) + (8.0 if shouting else 0.0))
    if not value:
        return 0.0, "no urgency cues"
    cues = ", ".join(f"'{h}'" for h in hits[:4])
    reason = f"urgency cues: {cues}" if hits else ""
    if shouting:
        reason = f"{reason}; written in capitals" if reason else "written in capitals"
    return value, reason


def _influence(followers: int | None) -> tuple[float, str]:
    if not followers:
        return 0.0, "no audience data" if followers is None else "no followers"
    value = min(_INFLUENCE_MAX, _INFLUENCE_MAX * math.log10(1 + followers) / 6)
    return value, f"{followers:,} followers"


def score(text: str, followers: int | None) -> Score:
    sentiment = sentiment_of(text)
    negativity = max(0.0, -sentiment.score) * _SENTIMENT_MAX
    urgency, urgency_reason = _urgency(text)
    influence, influence_reason = _influence(followers)
    breakdown = (
        PriorityFactor(factor="base", contribution=_BASE, reason="every message gets an answer"),
        PriorityFactor(factor="sentiment", contribution=round(negativity, 2),
                       reason=f"{sentiment.label} sentiment ({sentiment.score:+.2f})"),
        PriorityFactor(factor="urgency", contribution=round(urgency, 2), reason=urgency_reason),
        PriorityFactor(factor="influence", contribution=round(influence, 2),
                       reason=influence_reason),
    )
    total = round(min(100.0, sum(f.contribution for f in breakdown)), 2)
    return Score(sentiment=sentiment, value=total, breakdown=breakdown)

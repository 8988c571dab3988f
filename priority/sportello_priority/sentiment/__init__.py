"""Sentiment: P(negative), P(neutral), P(positive) for any message (interface; models live beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class SentimentProbs:
    negative: float
    neutral: float
    positive: float

    @property
    def label(self) -> Label:
        best = max(self.negative, self.neutral, self.positive)
        return "negative" if best == self.negative else "positive" if best == self.positive else "neutral"

    @property
    def score(self) -> float:
        """One number in [-1, 1]: positive minus negative probability."""
        return round(self.positive - self.negative, 4)


class SentimentModel(Protocol):
    name: str

    def predict(self, texts: Sequence[str]) -> list[SentimentProbs]: ...


def load_default() -> SentimentModel:
    from sportello_priority.sentiment.lexicon_model import LexiconModel  # placeholder until trained

    return LexiconModel()

"""Sentiment: P(negative), P(neutral), P(positive) for any message (interface; models live beside it)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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


@functools.cache
def load_default() -> SentimentModel:
    """The shipped model (``models/default.npz``, licence-clean sources only: see ``models/SOURCES.md``).

    Loaded once per process (about 0.1 s) and shared: a model is read-only after loading.
    """
    from sportello_priority.sentiment.linear import LinearSentimentModel

    return LinearSentimentModel.load(Path(__file__).parent / "models" / "default.npz")


def load_model(path: str | Path) -> SentimentModel:
    """A model saved by ``train``/``train_from_jsonl`` (linear) or ``e5_model.train_e5`` (hybrid), by format."""
    import json

    import numpy as np

    with np.load(Path(path), allow_pickle=False) as npz:
        fmt = json.loads(npz["meta"].tobytes().decode()).get("format", "") if "meta" in npz.files else ""
    if fmt.startswith("sportello-sentiment-e5-head/"):
        from sportello_priority.sentiment.e5_model import E5HybridModel

        return E5HybridModel.load(path)
    from sportello_priority.sentiment.linear import LinearSentimentModel

    return LinearSentimentModel.load(path)

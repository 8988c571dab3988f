"""Placeholder: the baseline lexicon's score spread into three probabilities."""

from __future__ import annotations

from collections.abc import Sequence

from sportello_priority.scorer import sentiment_of
from sportello_priority.sentiment import SentimentProbs


class LexiconModel:
    name = "baseline-lexicon-v1"

    def predict(self, texts: Sequence[str]) -> list[SentimentProbs]:
        out = []
        for text in texts:
            score = sentiment_of(text).score
            neg, pos = max(0.0, -score), max(0.0, score)
            out.append(SentimentProbs(negative=neg, neutral=1 - neg - pos, positive=pos))
        return out

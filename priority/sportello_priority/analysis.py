"""What the text of one message says: sentiment, intent and urgency — pure, batched and fast.

This is the one entry point the service, the ``score`` command and the evaluation share, so what is
measured is what runs. No I/O and no language setting: the models and cue lists cover English and
Italian together, and other languages degrade to what the models recognise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sportello_priority.intents import IntentResult, UrgencyResult, detect_intent, detect_urgency
from sportello_priority.language import detect_language
from sportello_priority.sentiment import SentimentModel, SentimentProbs, load_default


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    sentiment: SentimentProbs
    intent: IntentResult
    urgency: UrgencyResult
    language: str | None = None


class TextAnalyser:
    def __init__(self, sentiment_model: SentimentModel | None = None) -> None:
        self.sentiment_model = sentiment_model or load_default()

    @property
    def name(self) -> str:
        return self.sentiment_model.name

    def analyse_many(self, texts: Sequence[str]) -> list[TextAnalysis]:
        sentiments = self.sentiment_model.predict(texts)
        return [
            TextAnalysis(sentiment=sentiment, intent=detect_intent(text, sentiment),
                         urgency=detect_urgency(text), language=detect_language(text))
            for text, sentiment in zip(texts, sentiments, strict=True)
        ]

    def analyse(self, text: str) -> TextAnalysis:
        return self.analyse_many([text])[0]

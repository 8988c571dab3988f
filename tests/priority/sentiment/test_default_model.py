"""The shipped default sentiment model: well-formed probabilities, obvious cases in EN and IT, robustness."""

from __future__ import annotations

import math

import pytest

from sportello_priority.analysis import TextAnalyser
from sportello_priority.sentiment import LABELS, SentimentModel, SentimentProbs, load_default
from sportello_priority.sentiment.linear import LinearSentimentModel

OBVIOUS = [
    ("Worst service ever, my bag is lost and nobody answers!", "negative"),
    ("My flight was cancelled again, this is unacceptable", "negative"),
    ("Thank you so much, great help :)", "positive"),
    ("I love you guys, amazing support", "positive"),
    ("What time does the store open tomorrow?", "neutral"),
    ("How do I change my password?", "neutral"),
    ("Il servizio è pessimo, vergogna", "negative"),
    ("Il pacco non è mai arrivato e nessuno risponde", "negative"),
    ("Grazie mille, siete gentilissimi!", "positive"),
    ("Ottimo servizio, lo consiglio a tutti", "positive"),
    ("A che ora apre il negozio domani?", "neutral"),
    ("Come posso cambiare la password?", "neutral"),
]


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_default()


def test_default_is_the_shipped_linear_model(model: SentimentModel) -> None:
    assert isinstance(model, LinearSentimentModel)
    assert model.name == "sportello-default-v1"
    assert load_default() is model  # loaded once per process


def test_probabilities_are_a_distribution(model: SentimentModel) -> None:
    for probs in model.predict([text for text, _ in OBVIOUS]):
        values = (probs.negative, probs.neutral, probs.positive)
        assert all(0.0 <= v <= 1.0 for v in values)
        assert math.isclose(sum(values), 1.0, abs_tol=1e-9)
        assert -1.0 <= probs.score <= 1.0


@pytest.mark.parametrize(("text", "expected"), OBVIOUS)
def test_obvious_messages_in_english_and_italian(model: SentimentModel, text: str, expected: str) -> None:
    assert model.predict([text])[0].label == expected


def test_negation_flips_polarity(model: SentimentModel) -> None:
    good, not_good = model.predict(["the service was good", "the service was not good"])
    assert good.label == "positive"
    assert not_good.negative > not_good.positive


def test_batched_equals_one_at_a_time(model: SentimentModel) -> None:
    texts = [text for text, _ in OBVIOUS]
    assert model.predict(texts) == [model.predict([t])[0] for t in texts]
    assert model.predict([]) == []


@pytest.mark.parametrize("text", [
    "", " ", "\n\t", "😡😡😡", "👍",
    "🇮🇹✈️👨‍👩‍👧", "Привет, как дела?", "你好\uff0c我的包裹在哪里\uff1f", "مرحبا", "!!!???",
    ":-) :( <3 xD", "@user http://t.co/x #hashtag 12:30 $50", "a" * 100_000, "no " * 30_000,
    "non " * 10 + "male", "\x00\x01\ufeff\u200d", "ÀÉÎÕÜ ß ŒÆ", "a\u0301\u0302",
])
def test_any_text_gets_valid_probabilities(model: SentimentModel, text: str) -> None:
    (probs,) = model.predict([text])
    assert isinstance(probs, SentimentProbs)
    assert math.isclose(probs.negative + probs.neutral + probs.positive, 1.0, abs_tol=1e-9)
    assert probs.label in LABELS


def test_text_analyser_uses_the_default(model: SentimentModel) -> None:
    analyser = TextAnalyser()
    assert analyser.name == model.name
    (result,) = analyser.analyse_many(["Il servizio è pessimo, vergogna"])
    assert result.sentiment.label == "negative"

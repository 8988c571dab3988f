"""Any text at all: nothing crashes, nothing hangs, and the results keep their shape."""

from __future__ import annotations

import time

import pytest

from sportello_priority.intents import INTENT_NAMES, detect_intent, detect_urgency
from sportello_priority.sentiment import SentimentProbs

ODD_TEXTS = [
    "", " ", "\n\t", "😀😀😀", "🙏", "?", "!!!", "@brand", "#", "'", "\u2019\u2019\u2019", "\\", "(?:", "[a-z]+",
    "\x00\x01",
    "客服太差了\uff0c我要投诉\uff01", "خدمة سيئة جدا", "Служба поддержки не работает", "サービスが最悪です",
    "İSTANBUL ŞUBESİ KAPALI MI?", "ÀÉÎÕÜ àéîõü", "a" * 10, "x " * 5000,
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_texts_do_not_crash_and_keep_the_result_shape(text: str) -> None:
    for sentiment in (None, SentimentProbs(0.6, 0.3, 0.1), SentimentProbs(0.0, 0.0, 1.0)):
        intent = detect_intent(text, sentiment)
        assert intent.name in INTENT_NAMES and intent.name in intent.all
        assert 0.0 <= intent.confidence <= 1.0
    urgency = detect_urgency(text)
    assert 0.0 <= urgency.value <= 1.0


def test_scripts_without_case_are_not_shouting() -> None:
    assert not any("capitals" in c or "shouted" in c for c in detect_urgency("Hello 客服太差了我要投诉 客服").cues)


def test_a_100_kb_message_is_answered_quickly() -> None:
    text = ("Still waiting for my refund!! Internet down again, cancel my contract. " * 1500)[:100_000]
    start = time.perf_counter()
    intent = detect_intent(text)
    urgency = detect_urgency(text)
    assert time.perf_counter() - start < 0.5
    assert intent.name == "outage" and urgency.value > 0.4


def test_pathological_repetition_does_not_backtrack_for_ever() -> None:
    start = time.perf_counter()
    for text in ("not " * 20_000, "da " * 20_000, "for " * 20_000, "!" * 50_000, "a'" * 30_000):
        detect_intent(text)
        detect_urgency(text)
    assert time.perf_counter() - start < 2.0


def test_average_time_per_message_is_well_under_50_microseconds() -> None:
    texts = [
        "My internet has been down since yesterday and nobody answers!!", "Quanto costa la fibra?",
        "Thanks for the quick reply", "Vi denuncio all'Agcom", "How do I change my PIN?", "ok",
        "Non funziona l'app da stamattina, è la terza volta che scrivo", "Follow back? crypto giveaway",
    ] * 50
    detect_intent(texts[0]), detect_urgency(texts[0])
    best = float("inf")
    for _ in range(5):  # best of five: a loaded CI machine must not fail this, a regression should
        start = time.perf_counter()
        for text in texts:
            detect_intent(text)
            detect_urgency(text)
        best = min(best, (time.perf_counter() - start) / len(texts))
    assert best < 100e-6  # measured ~20 µs; the bound leaves room for slow machines

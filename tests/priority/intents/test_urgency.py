"""Urgency: cues in English and Italian, negation, look-alikes, shouting, and how cues combine."""

from __future__ import annotations

import pytest

from sportello_priority.intents import detect_urgency

URGENT = 0.4


@pytest.mark.parametrize(("text", "cue"), [
    ("I am still waiting for my refund", "still waiting"),
    ("This is the third time I'm writing", "third time"),
    ("Please fix it asap", "asap"),
    ("Urgent: my line is dead", "urgent"),
    ("Block my card immediately", "immediately"),
    ("It's an emergency, my mum relies on this phone", "emergency"),
    ("No response to my emails", "no response"),
    ("No internet for 3 days", "for 3 days"),
    ("No signal since yesterday", "since yesterday"),
    ("2 hours on hold and counting", "2 hours on hold"),
    ("My card was stolen", "stolen"),
    ("Richiesta urgente di assistenza", "urgente"),
    ("Bloccate subito la carta", "subito"),
    ("Ancora nessuna risposta dal servizio clienti", "ancora nessuna risposta"),
    ("Siamo senza linea da giorni", "da giorni"),
    ("È la terza volta che chiamo", "terza volta"),
    ("È un'emergenza, mio padre è anziano", "emergenza"),
    ("Sto ancora aspettando il tecnico", "sto ancora aspettando"),
    ("Nessuno risponde al numero verde", "nessuno risponde"),
])
def test_urgency_cues_in_english_and_italian(text: str, cue: str) -> None:
    result = detect_urgency(text)
    assert result.value >= URGENT
    assert cue in result.cues


@pytest.mark.parametrize("text", [
    "Not urgent, but could you tell me how to change my PIN?",
    "No rush, whenever you get a chance could you resend the invoice?",
    "Non è urgente, ma come si attiva la segreteria?",
    "Non c'è nessuna urgenza, quando potete",
    "It's not an emergency, just curious",
    "Nothing urgent: is the shop open on Sunday?",
])
def test_negated_urgency_does_not_count(text: str) -> None:
    assert detect_urgency(text).value == 0.0


@pytest.mark.parametrize("text", [
    "Ho subito un danno al bagaglio",  # "subito" here is "suffered", not "at once"
    "Mi hanno risposto subito, servizio impeccabile",
    "They replied immediately, great service",
    "Thanks again for the help yesterday",
    "Grazie ancora per la pazienza",
    "Can't wait to fly with you again",
    "Never again.",
    "Seguimi e ricambio subito il follow",
    "Is the emergency exit row seat extra?",
    "Please help me get a Visa card",
])
def test_look_alikes_are_not_urgent(text: str) -> None:
    assert detect_urgency(text).value < URGENT


def test_shouting_in_capitals_adds_urgency_and_says_so() -> None:
    calm = detect_urgency("my internet is not working and nobody answers")
    shouted = detect_urgency("MY INTERNET IS NOT WORKING AND NOBODY ANSWERS")
    assert shouted.value > calm.value
    assert "written in capitals" in shouted.cues


def test_a_few_shouted_words_count_less_than_a_shouted_message_and_acronyms_not_at_all() -> None:
    some = detect_urgency("my bill is WRONG again and NOBODY cares")
    assert any(c.startswith("shouted") for c in some.cues)
    assert not any(c.startswith("shouted") or c == "written in capitals"
                   for c in detect_urgency("My ATM PIN and SIM card from the UK").cues)


def test_repeated_exclamation_marks_add_urgency() -> None:
    plain = detect_urgency("my card was declined").value
    assert detect_urgency("my card was declined!!").value > plain
    assert detect_urgency("my card was declined!!!").value > detect_urgency("my card was declined!!").value
    assert "!!!" in detect_urgency("help!!!").cues


def test_cues_combine_with_diminishing_returns_and_never_exceed_one() -> None:
    one = detect_urgency("urgent").value
    two = detect_urgency("urgent, still waiting").value
    assert one < two < 2 * one
    everything = detect_urgency(
        "URGENT!!! STILL WAITING, THIRD TIME, NO RESPONSE FOR 3 DAYS, MY CARD WAS STOLEN, ASAP, EMERGENCY")
    assert 0.95 < everything.value <= 1.0


def test_no_cue_no_urgency() -> None:
    result = detect_urgency("What time does the store open on Sundays?")
    assert result.value == 0.0 and result.cues == ()

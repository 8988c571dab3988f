"""The cue-table compiler: one regex per domain, phrases found where they overlap, guards and negation."""

from __future__ import annotations

import pytest

from sportello_priority.intents.cues import CueTable, combine, cues, guards
from sportello_priority.intents.text import normalise


def _found(table: CueTable, text: str) -> list[tuple[str, str]]:
    return [(hit.label, hit.phrase) for hit in table.scan(normalise(text))]


def test_overlapping_cues_of_different_labels_are_all_reported() -> None:
    table = CueTable([*cues("a", {0.5: ["still waiting"]}), *cues("b", {0.5: ["waiting for my refund"]})])
    assert _found(table, "still waiting for my refund") == [("a", "still waiting"), ("b", "waiting for my refund")]


def test_the_longer_phrase_wins_at_one_position_and_inner_cues_of_a_label_are_dropped() -> None:
    table = CueTable(cues("outage", {0.6: ["down", "down again", "not working", "is not working"]}))
    assert _found(table, "it is down again") == [("outage", "down again")]
    assert _found(table, "it is not working") == [("outage", "is not working")]


def test_leading_groups_are_expanded_and_apostrophes_are_optional() -> None:
    table = CueTable(cues("q", {0.5: [r"(?:can't|cannot) log ?in", r"(?:quick |small )?question"]}))
    assert _found(table, "I cant login") == [("q", "cant login")]
    assert _found(table, "I can\u2019t log in") == [("q", "can't log in")]
    assert _found(table, "a small question") == [("q", "small question")]
    assert _found(table, "a question") == [("q", "question")]


def test_words_only_match_whole() -> None:
    table = CueTable(cues("x", {0.5: ["sue", "down"]}))
    assert _found(table, "pursue the sundown") == []


def test_a_guard_defuses_a_cue_starting_inside_it_even_at_the_same_word() -> None:
    table = CueTable([*cues("lead", {0.8: ["how much is"]}), *cues("u", {0.5: ["subito"]}),
                      *guards(("lead",), ["how much is the fee"]), *guards(("u",), ["ho subito"])])
    assert _found(table, "how much is the fee") == []
    assert _found(table, "how much is the plan") == [("lead", "how much is")]
    assert _found(table, "ho subito un danno") == []
    assert _found(table, "rispondete subito") == [("u", "subito")]


def test_negatable_cues_are_dropped_after_a_negation() -> None:
    table = CueTable(cues("u", {0.5: ["urgent", "emergenza"]}, negatable=True))
    for text in ("not urgent", "isn't really urgent", "non è urgente", "non è un'emergenza", "nothing urgent"):
        assert _found(table, text) == [], text
    assert _found(table, "urgent please, not joking") == [("u", "urgent")]


def test_a_phrase_must_wrap_its_alternatives() -> None:
    with pytest.raises(ValueError, match="wrap alternatives"):
        CueTable(cues("x", {0.5: ["a|b"]}))


def test_combine_has_diminishing_returns() -> None:
    assert combine([]) == 0.0
    assert combine([0.5]) == 0.5
    assert combine([0.5, 0.5]) == 0.75
    assert combine([1.0, 0.3]) == 1.0

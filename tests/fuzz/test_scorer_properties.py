"""Property tests for the scorer's text analysis (``TextAnalyser``, what the priority service, the ``score``
command and the evaluation share) and for what it feeds: the text factors, the composed score and the
``message.scored`` event.

Any text (every Unicode category, emoji, RTL, combining marks, NUL, lone surrogates, empty, blank, 100 kB)
gets an analysis: probabilities finite, in [0, 1] and summing to 1, a label that is their argmax, an intent
and an urgency in range, a language code (ISO 639-1) or None; and never an exception. Explicit examples
cover Italian, English, Arabic, Chinese, emoji only and 100 kB texts. The ``score`` command must answer
every line of any input with one JSON line (BUG-9, a lone surrogate in an id, fixed). Derandomised.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sportello.contracts import Intent, MessageScored, Sentiment
from sportello_priority.analysis import TextAnalyser, TextAnalysis
from sportello_priority.commands.score import score_lines
from sportello_priority.composition import compose as compose_score
from sportello_priority.composition import text_factors
from sportello_priority.intents import INTENT_NAMES
from sportello_priority.sentiment import LABELS
from sportello_priority.weights import DEFAULT_WEIGHTS
from tests.fuzz.strategies import BIG, SPECIMENS, any_json, any_text
from tests.fuzz.support import check_property

ANALYSER = TextAnalyser()  # the shipped model, as the service loads it
ISO_639_1 = re.compile(r"[a-z]{2}")
FUZZ = settings(max_examples=250, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))


def assert_valid(text: str, analysis: TextAnalysis) -> None:
    sentiment = analysis.sentiment
    probabilities = (sentiment.negative, sentiment.neutral, sentiment.positive)
    assert all(isinstance(p, float) and math.isfinite(p) and 0.0 <= p <= 1.0 for p in probabilities), sentiment
    assert math.isclose(sum(probabilities), 1.0, abs_tol=1e-6), sentiment
    assert sentiment.label in LABELS
    assert dict(zip(LABELS, probabilities, strict=True))[sentiment.label] == max(probabilities)
    assert -1.0 <= sentiment.score <= 1.0
    intent = analysis.intent
    assert intent.name in INTENT_NAMES
    assert math.isfinite(intent.confidence) and 0.0 <= intent.confidence <= 1.0, intent
    assert all(isinstance(cue, str) and cue for cue in intent.cues), intent
    assert set(intent.all) <= set(INTENT_NAMES) and (not intent.all or intent.all[0] == intent.name), intent
    urgency = analysis.urgency
    assert math.isfinite(urgency.value) and 0.0 <= urgency.value <= 1.0, urgency
    assert all(isinstance(cue, str) and cue for cue in urgency.cues), urgency
    assert analysis.language is None or ISO_639_1.fullmatch(analysis.language), analysis.language


def assert_scores(analysis: TextAnalysis) -> None:
    """What priority builds from an analysis: factors in [0, 1], a score in [0, 100], a valid event."""
    factors = text_factors(analysis)
    assert all(math.isfinite(f.value) and 0.0 <= f.value <= 1.0 and f.reason for f in factors.values()), factors
    spam = analysis.intent.name == "spam"
    score, breakdown = compose_score(factors, DEFAULT_WEIGHTS, spam=spam)
    assert math.isfinite(score) and 0.0 <= score <= 100.0, (score, breakdown)
    assert all(math.isfinite(f.contribution) for f in breakdown), breakdown
    probs = analysis.sentiment
    # As the service publishes it (message.scored validates every range on construction).
    MessageScored(
        message_id=uuid.uuid4(), conversation_id=uuid.uuid4(), customer_id=uuid.uuid4(), channel="fuzz",
        sent_at=datetime.now(UTC), score=score, breakdown=breakdown, conversation_priority=score,
        scorer=ANALYSER.name, urgency=round(analysis.urgency.value, 4), language=analysis.language,
        sentiment=Sentiment(label=probs.label, score=max(-1.0, min(1.0, probs.score)),
                            negative=round(probs.negative, 4), neutral=round(probs.neutral, 4),
                            positive=round(probs.positive, 4)),
        intent=Intent(name=analysis.intent.name, confidence=round(analysis.intent.confidence, 4),
                      cues=analysis.intent.cues, all=analysis.intent.all),
    )


@FUZZ
@given(any_text)
def test_any_text_gets_a_valid_analysis_and_score(text: str) -> None:
    analysis = ANALYSER.analyse(text)
    assert_valid(text, analysis)
    assert_scores(analysis)


_random = random.Random(9)
RANDOM_100K = "".join(chr(_random.choice((_random.randint(0x20, 0xD7FF), _random.randint(0xE000, 0x10FFFF))))
                      for _ in range(BIG))
ANY = "any"  # a valid code or None: function words decide, e.g. "e ... o" around combining marks reads Portuguese
EXPLICIT: dict[str, tuple[str, str | None]] = {
    "italian": (SPECIMENS[3], "it"),
    "english": (SPECIMENS[4], "en"),
    "arabic": (SPECIMENS[5], None),
    "hebrew": (SPECIMENS[6], None),
    "chinese": (SPECIMENS[7], None),
    "japanese": (SPECIMENS[8], None),
    "russian": (SPECIMENS[9], None),
    "emoji only": (SPECIMENS[10], None),
    "emoji sequences": (SPECIMENS[11], ANY),
    "combining marks": (SPECIMENS[12], ANY),
    "bidi and zero-width": (SPECIMENS[13], ANY),
    "NUL": (SPECIMENS[14], ANY),
    "lone surrogates": (SPECIMENS[15], ANY),
    "noncharacters": (SPECIMENS[16], ANY),
    "empty": ("", None),
    "whitespace": (SPECIMENS[2], None),
    "100 kB of a": ("a" * BIG, None),
    "100 kB random": (RANDOM_100K, ANY),
    "100 kB Italian": (("Il mio ordine è ancora in ritardo, grazie per niente. " * 2000)[:BIG], "it"),
    "100 kB emoji": (("😡" * BIG), None),
}


@pytest.mark.parametrize(("text", "language"), list(EXPLICIT.values()), ids=list(EXPLICIT))
def test_explicit_texts(text: str, language: str | None) -> None:
    analysis = ANALYSER.analyse(text)
    assert_valid(text, analysis)
    assert_scores(analysis)
    if language != ANY:
        assert analysis.language == language


def test_angry_messages_read_negative_in_both_languages() -> None:
    # A sanity anchor for the properties above: the analysis is not valid-but-meaningless.
    for text in (SPECIMENS[3], SPECIMENS[4], "😡😡😡"):
        assert ANALYSER.analyse(text).sentiment.label == "negative", text


@settings(FUZZ, max_examples=60)
@given(st.lists(any_text, max_size=6))
def test_a_batch_is_analysed_as_its_messages_one_by_one(texts: list[str]) -> None:
    batch = ANALYSER.analyse_many(texts)
    assert len(batch) == len(texts)
    for text, analysis in zip(texts, batch, strict=True):
        alone = ANALYSER.analyse(text)
        assert (analysis.intent, analysis.urgency, analysis.language) == (alone.intent, alone.urgency,
                                                                           alone.language)
        assert math.isclose(analysis.sentiment.negative, alone.sentiment.negative, abs_tol=1e-9)
        assert math.isclose(analysis.sentiment.positive, alone.sentiment.positive, abs_tol=1e-9)


# -- the score command: JSON lines in, one JSON line out per line -------------------------------------

# BUG-9 (fixed): `score` crashed (UnicodeEncodeError) writing an id that holds a lone surrogate, and every
# later line was lost; such an id is now written as a \\u escape.


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


_line = st.one_of(
    st.builds(lambda ident, text: json.dumps({"id": ident, "text": text}), any_json | any_text, any_text),
    st.builds(lambda ident, text: json.dumps({"id": ident, "text": text}, ensure_ascii=False), st.integers(),
              any_text.map(_one_line)),
    any_json.map(json.dumps),
    any_text.map(_one_line),
)


def _score(lines: list[str], found: dict[str, list[str]]) -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")  # what sys.stdout is
    count = score_lines(ANALYSER, [line + "\n" for line in lines], stdout)
    stdout.flush()
    # Lines end with "\n" only (JSON may hold U+2028 or \x1c raw, which str.splitlines would split at).
    written = stdout.buffer.getvalue().decode("utf-8").split("\n")[:-1]  # type: ignore[attr-defined]
    expected = [line for line in lines if line.strip()]
    assert count == len(written) == len(expected), (count, len(written), len(expected))
    for line in written:
        result = json.loads(line)
        assert "id" in result
        if "error" not in result:
            assert set(result) == {"id", "sentiment", "label", "intent", "urgency"}, result
            assert result["label"] in LABELS and result["intent"] in INTENT_NAMES
            assert all(0.0 <= p <= 1.0 for p in result["sentiment"].values())
            assert 0.0 <= result["urgency"] <= 1.0


def test_score_command_answers_every_line() -> None:
    check_property(st.lists(_line, min_size=1, max_size=6), _score, count=200)


def test_bug9_score_command_with_a_lone_surrogate_id() -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    lines = ['{"id": "\\ud800", "text": "hi"}\n', '{"id": 2, "text": "still answered?"}\n']
    assert score_lines(ANALYSER, lines, stdout) == 2
    stdout.flush()
    written = stdout.buffer.getvalue().decode("utf-8").splitlines()  # type: ignore[attr-defined]
    assert [json.loads(line)["id"] for line in written] == ["\ud800", 2]  # the same ids, read back

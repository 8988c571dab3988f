"""``python -m sportello_priority score``: JSON lines in, exactly one JSON line out per input."""

from __future__ import annotations

import json
import subprocess
import sys

INPUT = "\n".join([
    json.dumps({"id": 1, "text": "My flight was cancelled and nobody answers, this is URGENT!!"}),
    json.dumps({"id": "due", "text": "Grazie mille, tutto risolto, siete stati gentilissimi"}),
    "not json at all",
    json.dumps({"id": 4}),
    "",  # blank lines are not inputs
    json.dumps({"id": 5, "text": "🙂" * 20_000}),
]) + "\n"


def test_score_writes_one_line_per_input_and_nothing_else() -> None:
    done = subprocess.run([sys.executable, "-m", "sportello_priority", "score"], input=INPUT,
                          capture_output=True, text=True, timeout=120, check=True)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["id"] for line in lines] == [1, "due", None, 4, 5]
    scored = [lines[0], lines[1], lines[4]]
    for line in scored:
        assert set(line) == {"id", "sentiment", "label", "intent", "urgency"}
        assert set(line["sentiment"]) == {"negative", "neutral", "positive"}
        assert abs(sum(line["sentiment"].values()) - 1) < 1e-3
        assert line["label"] == max(line["sentiment"], key=line["sentiment"].get)
        assert 0 <= line["urgency"] <= 1
    assert lines[0]["label"] == "negative" and lines[0]["urgency"] > 0
    assert lines[1]["label"] == "positive"
    assert "not JSON" in lines[2]["error"] and "text" in lines[3]["error"]

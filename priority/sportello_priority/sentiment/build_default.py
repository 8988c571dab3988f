"""Rebuild the shipped default model from licence-clean sources only (see models/SOURCES.md).

    python -m sportello_priority.sentiment.build_default [--data-dir ../shared/data] [--seed 0]

Sources (nothing non-commercial, nothing from the evaluation sets):
- VADER lexicon and emoji lexicon (MIT, PyPI ``vaderSentiment``): the lexicon features, the emoji polarity
  table, and its clearly polar words as one-word examples.
- The Italian and care word lists and the EN/IT message templates written for this project
  (``lexicons``, ``default_corpus``).
- FEEL-IT (MIT, MilaNLP): Italian tweets; anger, sadness, fear -> negative, joy -> positive.
- BANKING77 (CC BY 4.0, PolyAI): English customer questions from the informational intents -> neutral.

The procedure is ``training.train`` unchanged (inner CV for C and the macro-F1 offsets), so the default is
built exactly as an operator's model is.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from sportello_priority.sentiment import default_corpus
from sportello_priority.sentiment.lexicons import LEXICONS_FILE, MODELS_DIR, hand_written, load_lexicons, write_lexicons
from sportello_priority.sentiment.training import Example, train_with_report

DEFAULT_MODEL = MODELS_DIR / "default.npz"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
NAME = "sportello-default-v1"

# BANKING77 intents that are questions about how things work (no problem reported): neutral. The others
# ("card_not_working", "transaction_charged_twice", ...) describe a fault; a care team would call many of
# them negative, so they are left out rather than taught as neutral.
BANKING_NEUTRAL = frozenset({
    "exchange_rate", "fiat_currency_support", "card_delivery_estimate", "automatic_top_up", "exchange_via_app",
    "age_limit", "top_up_by_bank_transfer_charge", "top_up_limits", "supported_cards_and_currencies",
    "getting_virtual_card", "card_acceptance", "edit_personal_details", "why_verify_identity",
    "get_physical_card", "visa_or_mastercard", "topping_up_by_card", "disposable_card_limits", "atm_support",
    "change_pin", "transfer_timing", "receiving_money", "transfer_into_account", "getting_spare_card",
    "top_up_by_cash_or_cheque", "order_physical_card", "get_disposable_virtual_card", "exchange_charge",
    "top_up_by_card_charge", "activate_my_card", "card_about_to_expire", "apple_pay_or_google_pay",
    "verify_my_identity", "country_support", "card_linking", "verify_source_of_funds",
})
FEEL_IT = {"anger": "negative", "sadness": "negative", "fear": "negative", "joy": "positive"}
# One-word examples stand for a word, not a message: they count less than a message.
WORD_WEIGHT = 0.3
WORD_MIN_VALENCE = 1.5


def feel_it(data_dir: Path) -> list[Example]:
    path = data_dir / "italian" / "feel_it" / "feel_it_dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return [(row["text"], FEEL_IT[row["labels"].split()[0]]) for row in csv.DictReader(fh)]


def banking77(data_dir: Path, limit: int, seed: int) -> list[Example]:
    path = data_dir / "banking77" / "train.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [row["text"] for row in csv.DictReader(fh) if row["category"] in BANKING_NEUTRAL]
    random.Random(seed).shuffle(rows)
    return [(text, "neutral") for text in rows[:limit]]


def lexicon_words() -> list[Example]:
    lexicon, _ = load_lexicons()
    own = hand_written()
    out: list[Example] = []
    for word, value in sorted(lexicon.items()):
        if "'" in word or abs(value) < WORD_MIN_VALENCE:
            continue
        out.append((word, "positive" if value > 0 else "negative", WORD_WEIGHT if word not in own else 0.5))
    return out


def examples(data_dir: Path, seed: int = 0) -> tuple[list[Example], dict[str, int]]:
    parts = {
        "templates": list(default_corpus.generate(per_class=700, seed=seed)),
        "feel_it": feel_it(data_dir),
        "banking77_neutral": banking77(data_dir, limit=2500, seed=seed),
        "lexicon_words": lexicon_words(),
    }
    out: list[Example] = [e for part in parts.values() for e in part]
    return out, {k: len(v) for k, v in parts.items()}


def build(data_dir: Path = DEFAULT_DATA_DIR, out: Path = DEFAULT_MODEL, seed: int = 0,
          rebuild_lexicons: bool = True) -> Path:
    if rebuild_lexicons:
        write_lexicons(LEXICONS_FILE)
    data, counts = examples(data_dir, seed)
    model, report = train_with_report(data, seed=seed, name=NAME)
    model.metadata["sources"] = counts
    model.metadata["built_by"] = "python -m sportello_priority.sentiment.build_default"
    path = model.save(out)
    print(json.dumps({"model": str(path), "bytes": path.stat().st_size, "examples": counts,
                      "training": report.as_metadata()}, indent=1))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="folder holding italian/feel_it and banking77 (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-lexicons", action="store_true",
                        help="use models/lexicons.json as it is (no vaderSentiment needed)")
    args = parser.parse_args(argv)
    build(args.data_dir, args.out, args.seed, rebuild_lexicons=not args.keep_lexicons)


if __name__ == "__main__":
    main()

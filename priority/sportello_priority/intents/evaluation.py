"""How well intent and urgency detection work, measured three ways (run: ``python -m
sportello_priority.intents.evaluation [--data-dir ../shared/data] [--errors]``).

1. The hand-labelled set in ``labelled/`` (written for this project, EN + IT, one primary intent, the
   other intents present, urgent yes/no). ``dev`` was used while writing the cue lists; ``holdout`` was
   written at the same time, before any cue list, and its errors were never looked at while tuning.
   Both are measured with the cues alone and with the default sentiment model, as ``analysis`` runs them.
2. BANKING77 (CC BY 4.0, read from the data folder, never copied): English online-banking queries with
   77 intents. A few of them clearly map onto ours (``BANKING77_MAP``); that measures the cue lists'
   recall on many paraphrases of those few concepts, and precision only against the mapped categories
   (a fee question our rules call a complaint counts as a false positive even if it reads like one).
   It cannot measure legal threats, abuse, spam, praise or Italian: there are none in it.
3. US airline tweets (CC BY-NC-SA, read-only): real care traffic with a sentiment label. Only the odd
   tweet ids are reported (the even ones were free to look at while tuning). It measures whether
   angry tweets get a problem intent and happy ones praise; and the "Cancelled Flight" tweets show how
   often a cancelled *flight* is mistaken for a customer cancelling the relationship.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sportello_priority.intents.detect import detect_intent
from sportello_priority.intents.results import INTENT_NAMES, IntentResult
from sportello_priority.intents.urgency import URGENT_THRESHOLD, detect_urgency

LABELLED_DIR = Path(__file__).parent / "labelled"
SPLITS = ("dev", "holdout")
# The repository's sibling folder ``shared/data``, wherever the command is run from.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data"
PROBLEMS = frozenset({"complaint", "outage", "cancellation_threat", "legal_threat", "abusive"})

# BANKING77 categories that clearly correspond to something we detect. Everything else is unmapped.
BANKING77_MAP: dict[str, frozenset[str]] = {
    # Closing the account is the relationship ending: our cancellation_threat (phrased as a request).
    "cancellation": frozenset({"terminate_account"}),
    # Something of ours failed for this customer: an outage or a complaint.
    "service_failure": frozenset({
        "card_not_working", "contactless_not_working", "virtual_card_not_working", "declined_card_payment",
        "declined_transfer", "declined_cash_withdrawal", "top_up_failed", "failed_transfer", "card_swallowed",
        "pin_blocked",
    }),
    # Money went wrong: a complaint.
    "money_wrong": frozenset({
        "transaction_charged_twice", "extra_charge_on_statement", "wrong_amount_of_cash_received",
        "card_payment_wrong_exchange_rate", "wrong_exchange_rate_for_cash_withdrawal", "Refund_not_showing_up",
        "balance_not_updated_after_bank_transfer", "balance_not_updated_after_cheque_or_cash_deposit",
        "transfer_not_received_by_recipient",
    }),
    # Fraud, loss or theft: must be urgent.
    "fraud_or_loss": frozenset({
        "lost_or_stolen_card", "compromised_card", "lost_or_stolen_phone", "card_payment_not_recognised",
        "cash_withdrawal_not_recognised", "direct_debit_payment_not_recognised",
    }),
}

Analyse = Callable[[Sequence[str]], list[tuple[IntentResult, float]]]


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    lang: str
    text: str
    intent: str
    also: tuple[str, ...]
    urgent: bool


def load_labelled(split: str) -> list[Labelled]:
    rows = []
    with (LABELLED_DIR / f"{split}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            raw = json.loads(line)
            rows.append(Labelled(raw["id"], raw["lang"], raw["text"], raw["intent"], tuple(raw["also"]),
                                 raw["urgent"]))
    return rows


def cues_only(texts: Sequence[str]) -> list[tuple[IntentResult, float]]:
    return [(detect_intent(t), detect_urgency(t).value) for t in texts]


def with_sentiment() -> tuple[str, Analyse]:
    """The pipeline as the service runs it (``analysis.TextAnalyser`` with the default sentiment model)."""
    from sportello_priority.analysis import TextAnalyser

    analyser = TextAnalyser()

    def analyse(texts: Sequence[str]) -> list[tuple[IntentResult, float]]:
        return [(a.intent, a.urgency.value) for a in analyser.analyse_many(texts)]

    return f"cues+{analyser.name}", analyse


def _prf(true_positive: int, predicted: int, actual: int) -> dict[str, float]:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "support": actual}


def _binary(truth: Iterable[bool], predicted: Iterable[bool]) -> dict[str, float]:
    pairs = list(zip(truth, predicted, strict=True))
    return _prf(sum(t and p for t, p in pairs), sum(p for _, p in pairs), sum(t for t, _ in pairs))


def evaluate_labelled(rows: Sequence[Labelled], analyse: Analyse) -> dict[str, Any]:
    results = analyse([r.text for r in rows])
    per_intent = {}
    for intent in INTENT_NAMES:
        named = _binary((r.intent == intent for r in rows), (res.name == intent for res, _ in results))
        # Recall of the intent anywhere in ``all`` (it may be present but not the most important one).
        present = [(r, res) for r, (res, _) in zip(rows, results, strict=True)
                   if intent == r.intent or intent in r.also]
        named["recall_in_all"] = round(sum(intent in res.all for _, res in present) / len(present), 3) \
            if present else 0.0
        per_intent[intent] = named
    correct = [r.intent == res.name for r, (res, _) in zip(rows, results, strict=True)]
    by_lang = {lang: round(sum(c for r, c in zip(rows, correct, strict=True) if r.lang == lang)
                           / sum(r.lang == lang for r in rows), 3) for lang in sorted({r.lang for r in rows})}
    return {
        "messages": len(rows),
        "accuracy": round(sum(correct) / len(rows), 3),
        "accuracy_by_language": by_lang,
        "macro_f1": round(statistics.mean(m["f1"] for m in per_intent.values() if m["support"]), 3),
        "per_intent": per_intent,
        "urgency": _binary((r.urgent for r in rows), (u >= URGENT_THRESHOLD for _, u in results)),
        "errors": [{"id": r.id, "text": r.text, "expected": r.intent, "got": res.name, "cues": res.cues,
                    "urgent": r.urgent, "urgency": u}
                   for r, (res, u) in zip(rows, results, strict=True)
                   if r.intent != res.name or r.urgent != (u >= URGENT_THRESHOLD)],
    }


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def evaluate_banking77(path: Path, analyse: Analyse) -> dict[str, Any]:
    rows = _read_csv(path)
    results = analyse([r["text"] for r in rows])
    names = [res.name for res, _ in results]
    categories = [r["category"] for r in rows]
    mapped = BANKING77_MAP
    trouble = mapped["service_failure"] | mapped["money_wrong"] | mapped["cancellation"]
    return {
        "messages": len(rows),
        "named": dict(Counter(names).most_common()),
        # None of these queries is praise, spam, abuse or a legal threat.
        "wrong_family_share": round(sum(n in {"praise", "spam", "abusive", "legal_threat"} for n in names)
                                    / len(names), 4),
        "cancellation_threat": _binary((c in mapped["cancellation"] for c in categories),
                                       (n == "cancellation_threat" for n in names)),
        "problem_on_failure_money_or_cancellation": _binary((c in trouble for c in categories),
                                                            (n in PROBLEMS for n in names)),
        "outage_on_service_failure": _binary((c in mapped["service_failure"] for c in categories),
                                             (n == "outage" for n in names)),
        "urgent_on_fraud_or_loss": _binary((c in mapped["fraud_or_loss"] for c in categories),
                                           (u >= URGENT_THRESHOLD for _, u in results)),
    }


def evaluate_airline_tweets(path: Path, analyse: Analyse) -> dict[str, Any]:
    rows = [r for r in _read_csv(path) if int(r["tweet_id"]) % 2 == 1]  # the half never looked at
    results = analyse([r["text"] for r in rows])
    names = [res.name for res, _ in results]
    labels = [r["airline_sentiment"] for r in rows]

    def share(name_set: frozenset[str] | set[str], where: Callable[[dict[str, str]], bool]) -> float:
        picked = [n for r, n in zip(rows, names, strict=True) if where(r)]
        return round(sum(n in name_set for n in picked) / len(picked), 3) if picked else 0.0

    return {
        "messages": len(rows),
        "problem_vs_negative": _binary((lbl == "negative" for lbl in labels), (n in PROBLEMS for n in names)),
        "praise_vs_positive": _binary((lbl == "positive" for lbl in labels), (n == "praise" for n in names)),
        "problem_share_on_positive": share(PROBLEMS, lambda r: r["airline_sentiment"] == "positive"),
        "cancellation_threat_share_on_cancelled_flight": share(
            {"cancellation_threat"}, lambda r: r["negativereason"] == "Cancelled Flight"),
        "named": dict(Counter(names).most_common()),
    }


def time_per_message(texts: Sequence[str], repeats: int = 7) -> dict[str, float]:
    """Median over repeats of the mean µs per message, single thread, intent (no sentiment) + urgency."""
    def one_pass(fn: Callable[[str], object]) -> float:
        start = time.perf_counter()
        for t in texts:
            fn(t)
        return (time.perf_counter() - start) / len(texts) * 1e6

    detect_intent(texts[0]), detect_urgency(texts[0])  # warm up
    intent = statistics.median(one_pass(detect_intent) for _ in range(repeats))
    urgency = statistics.median(one_pass(detect_urgency) for _ in range(repeats))
    return {"messages": len(texts), "intent_us": round(intent, 1), "urgency_us": round(urgency, 1),
            "total_us": round(intent + urgency, 1)}


def evaluate(data_dir: Path, *, sentiment: bool = True) -> dict[str, Any]:
    modes: list[tuple[str, Analyse]] = [("cues", cues_only)]
    if sentiment:
        modes.append(with_sentiment())
    report: dict[str, Any] = {"modes": [m for m, _ in modes], "labelled": {}}
    for split in SPLITS:
        rows = load_labelled(split)
        report["labelled"][split] = {mode: evaluate_labelled(rows, analyse) for mode, analyse in modes}
    banking = data_dir / "banking77" / "test.csv"
    if banking.exists():
        report["banking77"] = {mode: evaluate_banking77(banking, analyse) for mode, analyse in modes}
    tweets = data_dir / "twitter_us_airline_sentiment" / "Tweets.csv"
    if tweets.exists():
        report["airline_tweets"] = {mode: evaluate_airline_tweets(tweets, analyse) for mode, analyse in modes}
    texts = [r.text for split in SPLITS for r in load_labelled(split)]
    if banking.exists():
        texts += [r["text"] for r in _read_csv(banking)]
    report["timing"] = time_per_message(texts)
    return report


def print_report(report: dict[str, Any], show_errors: bool) -> None:
    modes = report["modes"]
    for split, by_mode in report["labelled"].items():
        first = by_mode[modes[0]]
        print(f"\n== labelled {split}: {first['messages']} messages (EN+IT) ==")
        print(f"{'intent':22}" + "".join(f"{m[:24]:>26}" for m in modes))
        print(f"{'':22}" + "".join(f"{'P    R    F1  inAll  n':>26}" for _ in modes))
        for intent in INTENT_NAMES:
            cells = "".join(
                f"{m['precision']:>9.2f}{m['recall']:>5.2f}{m['f1']:>5.2f}{m['recall_in_all']:>6.2f}{m['support']:>4}"
                for m in (by_mode[mode]["per_intent"][intent] for mode in modes))
            print(f"{intent:22}{cells}")
        for key in ("accuracy", "macro_f1"):
            print(f"{key:22}" + "".join(f"{by_mode[mode][key]:>26.3f}" for mode in modes))
        print(f"{'accuracy en / it':22}" + "".join(
            f"{by_mode[mode]['accuracy_by_language'].get('en', 0):>20.3f}"
            f"{by_mode[mode]['accuracy_by_language'].get('it', 0):>6.3f}" for mode in modes))
        print(f"{f'urgent (>= {URGENT_THRESHOLD}) P/R/F1':22}" + "".join(
            f"{u['precision']:>16.2f}{u['recall']:>5.2f}{u['f1']:>5.2f}"
            for u in (by_mode[mode]["urgency"] for mode in modes)))
        if show_errors and split == "dev":  # the holdout's errors are not for tuning against
            for e in by_mode[modes[-1]]["errors"]:
                print(f"  {e['id']} expected {e['expected']}/{e['urgent']} got {e['got']}/{e['urgency']:.2f}"
                      f" {e['cues']}  {e['text']!r}")
    for name in ("banking77", "airline_tweets"):
        if name not in report:
            print(f"\n== {name}: data not found, skipped ==")
            continue
        print(f"\n== {name} ==")
        for mode in modes:
            result = report[name][mode]
            print(f"  [{mode}] {result['messages']} messages; named: {result['named']}")
            for key, value in result.items():
                if isinstance(value, dict) and "precision" in value:
                    print(f"    {key:46} P {value['precision']:.2f}  R {value['recall']:.2f}  "
                          f"F1 {value['f1']:.2f}  (n={value['support']})")
                elif key not in ("messages", "named"):
                    print(f"    {key:46} {value}")
    t = report["timing"]
    print(f"\n== timing: {t['messages']} messages, median of repeats, single thread ==\n"
          f"  intent {t['intent_us']} µs + urgency {t['urgency_us']} µs = {t['total_us']} µs per message")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--no-sentiment", action="store_true", help="cues only (skip the sentiment model)")
    parser.add_argument("--errors", action="store_true", help="list the dev messages got wrong")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    report = evaluate(args.data_dir, sentiment=not args.no_sentiment)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report, args.errors)


if __name__ == "__main__":
    main()

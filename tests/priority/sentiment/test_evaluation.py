"""The evaluation harness: the official SENTIPOLC score, threshold choice, and a full run on small data."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from sportello_priority.sentiment import evaluation
from sportello_priority.sentiment.evaluation import choose_thresholds, polarity_f

SHARED = evaluation.DEFAULT_DATA_DIR


def test_polarity_f_is_the_official_combined_score() -> None:
    pos = np.array([1, 0, 0, 1])
    neg = np.array([0, 1, 0, 1])
    assert polarity_f(pos, neg, pos.astype(bool), neg.astype(bool)) == 1.0
    # All zeros predicted: F1(class 0) = 2*2/(2+4) for both flags, F1(class 1) = 0.
    assert polarity_f(pos, neg, np.zeros(4, bool), np.zeros(4, bool)) == pytest.approx((2 / 3) / 2)


def test_thresholds_separate_the_flags() -> None:
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.3, 0.5, 0.2], [0.45, 0.1, 0.45]])
    t_pos, t_neg = choose_thresholds(np.array([0, 1, 0, 1]), np.array([1, 0, 0, 1]), proba)
    assert 0.2 < t_pos <= 0.45 and 0.3 < t_neg <= 0.45


def _fake_data(root: Path) -> None:
    rng = random.Random(0)
    words = {"negative": ["awful", "late", "rude"], "neutral": ["when", "gate", "open"],
             "positive": ["thanks", "great", "love"]}
    (root / "twitter_us_airline_sentiment").mkdir(parents=True)
    with (root / evaluation.AIRLINE).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tweet_id", "airline_sentiment", "text"])
        for i in range(150):
            label = evaluation.LABELS[i % 3]
            writer.writerow([i, label, f"@air {rng.choice(words[label])} flight {i}"])
    (root / "italian" / "sentipolc2016").mkdir(parents=True)
    it = {(1, 0): "bellissimo", (0, 1): "vergogna", (0, 0): "oggi", (1, 1): "bello ma vergogna"}
    with (root / evaluation.SENTIPOLC).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["idtwitter", "subj", "opos", "oneg", "iro", "lpos", "lneg", "top", "text"])
        for i in range(120):
            pos, neg = [(1, 0), (0, 1), (0, 0), (1, 1)][i % 4]
            writer.writerow([i, 1, pos, neg, 0, pos, neg, 1, f"{it[(pos, neg)]} governo {i}"])


def test_full_run_on_a_small_data_dir(tmp_path: Path) -> None:
    _fake_data(tmp_path)
    result = evaluation.evaluate(tmp_path, workers=1, bench=False)
    assert result["airline_macro_f1"] > 0.9
    assert result["sentipolc_f"] > 0.8
    for key in ("airline_negative_f1", "default_airline_macro_f1", "default_sentipolc_f", "split_seed"):
        assert key in result
    assert "macro-F1" in evaluation.table(result)


def test_development_folds_never_touch_the_test_split(tmp_path: Path) -> None:
    _fake_data(tmp_path)
    air = evaluation.load_airline(tmp_path)
    assert air is not None
    folds = evaluation.airline_dev_folds(air)
    assert len(folds) == evaluation.DEV_FOLDS
    held_out = np.concatenate([h for _, h in folds])
    assert sorted(held_out.tolist()) == sorted(air.train.tolist())  # each training tweet held out once
    test = set(air.test.tolist())
    for inner_train, fold_held_out in folds:
        assert not test & (set(inner_train.tolist()) | set(fold_held_out.tolist()))
        assert not set(inner_train.tolist()) & set(fold_held_out.tolist())


def test_dev_cv_scores_the_production_procedure(tmp_path: Path) -> None:
    _fake_data(tmp_path)
    result = evaluation.evaluate(tmp_path, workers=1, bench=False, dev_cv=True)
    assert result["airline_dev_cv_macro_f1"] > 0.9
    assert len(result["airline_dev_cv_folds"]) == evaluation.DEV_FOLDS
    assert "CV inside airline 80%" in evaluation.table(result)
    assert "airline_dev_cv_macro_f1" not in evaluation.evaluate(tmp_path, workers=1, bench=False)


def test_missing_data_is_skipped(tmp_path: Path) -> None:
    result = evaluation.evaluate(tmp_path / "nowhere", workers=1, bench=False)
    assert not result["airline_present"] and "airline_macro_f1" not in result
    json.dumps(result, default=float)


def test_throughput_child_process_runs() -> None:
    speed = evaluation.throughput(["thanks!", "il pacco è in ritardo", "when do you open?"] * 20, repeats=1)
    assert speed["single"] > 0 and speed["batched"] > 0 and speed["n"] == 60


@pytest.mark.skipif(not (SHARED / evaluation.AIRLINE).is_file(), reason="shared data absent")
def test_default_beats_chance_on_the_real_airline_split() -> None:
    from sportello_priority.sentiment import load_default

    air = evaluation.load_airline(SHARED)
    assert air is not None and len(air.test) == pytest.approx(len(air.texts) * 0.2, rel=0.02)
    probs = load_default().predict([air.texts[i] for i in air.test])
    pred = np.array([evaluation.LABELS.index(p.label) for p in probs])
    assert evaluation._airline_scores(air.labels[air.test], pred)["macro_f1"] > 0.45


@pytest.mark.skipif(not (SHARED / evaluation.SENTIPOLC).is_file(), reason="shared data absent")
def test_sentipolc_folds_are_stratified_and_disjoint() -> None:
    sp = evaluation.load_sentipolc(SHARED)
    assert sp is not None
    seen: set[int] = set()
    for train, test in sp.folds:
        assert not set(train) & set(test)
        seen |= set(test.tolist())
        mixed = np.mean(sp.pos[test] & sp.neg[test])
        assert mixed == pytest.approx(np.mean(sp.pos & sp.neg), abs=0.02)
    assert seen == set(range(len(sp.texts)))

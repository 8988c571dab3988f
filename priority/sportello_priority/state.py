"""What priority keeps for the life of a process: the text models and the configuration cache."""

from __future__ import annotations

from pathlib import Path

from sportello.runtime import Context
from sportello_priority.analysis import TextAnalyser
from sportello_priority.config import ConfigCache
from sportello_priority.sentiment import SentimentModel, load_default, load_model
from sportello_priority.settings import PrioritySettings

_ANALYSER, _CONFIG = "analyser", "config"


def start(ctx: Context) -> None:
    settings = settings_of(ctx)
    # Loaded once, before any record is consumed: a model that cannot load stops the start.
    ctx.state[_ANALYSER] = TextAnalyser(load_sentiment_model(settings.sentiment_model_path))
    ctx.state[_CONFIG] = ConfigCache(settings)


def load_sentiment_model(path: Path | str | None) -> SentimentModel:
    """A model built by ``train`` at ``path`` (``--kind e5`` for the slower, stronger one), or the
    shipped default."""
    if not path:
        return load_default()
    return load_model(Path(path))  # the fast linear model or the slower e5 hybrid, by format


def settings_of(ctx: Context) -> PrioritySettings:
    assert isinstance(ctx.settings, PrioritySettings)
    return ctx.settings


def analyser_of(ctx: Context) -> TextAnalyser:
    analyser: TextAnalyser = ctx.state[_ANALYSER]
    return analyser


def config_of(ctx: Context) -> ConfigCache:
    cache: ConfigCache = ctx.state[_CONFIG]
    return cache

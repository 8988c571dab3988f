"""The ``eval`` command's options."""

from __future__ import annotations

import argparse

from sportello_priority.commands.evaluate import COMMAND


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    COMMAND.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_dev_cv_is_off_unless_asked() -> None:
    assert _parse().dev_cv is False
    assert _parse("--dev-cv").dev_cv is True

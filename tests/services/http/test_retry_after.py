"""Retry-After in both forms, and absurd values tamed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from sportello.http.retry_after import LONGEST_SECONDS, retry_after_of


def answer(value: str | None) -> httpx.Response:
    return httpx.Response(429, headers={} if value is None else {"Retry-After": value})


def test_seconds_and_http_dates_are_read() -> None:
    assert retry_after_of(answer("120")) == 120
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= retry_after_of(answer(later)) <= 90


@pytest.mark.parametrize("value", [None, "soon", ""])
def test_absent_or_unreadable_gives_the_default(value: str | None) -> None:
    assert retry_after_of(answer(value), default=7) == 7


@pytest.mark.parametrize("value", ["1e12", "inf", "99999999999"])
def test_absurdly_long_waits_are_capped_at_a_day(value: str) -> None:
    assert retry_after_of(answer(value)) == LONGEST_SECONDS


def test_a_past_date_or_a_negative_number_means_now() -> None:
    assert retry_after_of(answer("-5")) == 0
    assert retry_after_of(answer("nan"), default=3) == 3

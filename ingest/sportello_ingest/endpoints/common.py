"""What every ingest endpoint module needs: its context, the channel adapters, the webhook answer."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Depends, status

from sportello.http.auth import Principal
from sportello.http.problems import NotFound
from sportello.runtime import Context, context_of
from sportello_ingest.channels.base import ChannelAdapter
from sportello_ingest.channels.registry import Channels

IngestContext = Annotated[Context, Depends(context_of("ingest"))]
CHANNELS = "channels"

# The HTTP answer to each intake outcome of a pushed message (API channel, chat widget).
OUTCOME_STATUS = {"accepted": status.HTTP_201_CREATED, "duplicate": status.HTTP_200_OK,
                  "blocked": status.HTTP_202_ACCEPTED, "ignored": status.HTTP_202_ACCEPTED}


def actor_of(principal: Principal) -> str:
    """Who did it, for the audit trail."""
    return principal.actor


def channels_of(ctx: Context) -> Channels:
    channels: Channels = ctx.state[CHANNELS]
    return channels


def adapter_of(ctx: Context, channel: str, setting: str) -> ChannelAdapter:
    """The channel's adapter, or a 404 naming the setting that turns it on (never accept unverified)."""
    adapter = channels_of(ctx).get(channel)
    if adapter is None:
        raise NotFound(f"The {channel} channel is not configured (set SPORTELLO_{setting.upper()}).")
    return adapter


def webhook_answer(outcomes: Counter[str]) -> dict[str, int]:
    return dict(outcomes)

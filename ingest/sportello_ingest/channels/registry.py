"""The adapters a process runs, built once from its settings; a channel without secrets is off."""

from __future__ import annotations

from dataclasses import dataclass, field

from sportello_ingest.channels.api import ApiChannel
from sportello_ingest.channels.base import ChannelAdapter
from sportello_ingest.channels.x import XAdapter
from sportello_ingest.settings import IngestSettings


@dataclass
class Channels:
    api: ApiChannel
    by_name: dict[str, ChannelAdapter] = field(default_factory=dict)

    def for_channel(self, channel: str) -> ChannelAdapter:
        """The adapter sending replies in ``channel``; integrations' own channels use the API callback."""
        return self.by_name.get(channel, self.api)

    def get(self, channel: str) -> ChannelAdapter | None:
        return self.by_name.get(channel)


def build(settings: IngestSettings) -> Channels:
    channels = Channels(api=ApiChannel(settings.api_callback_url,
                                       settings.api_callback_secret.get_secret_value()))
    if settings.x_consumer_secret.get_secret_value():
        channels.by_name["x"] = XAdapter(settings.x_consumer_secret.get_secret_value(),
                                         settings.x_access_token.get_secret_value(),
                                         settings.x_api_base_url)
    return channels

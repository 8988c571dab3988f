"""The adapters a process runs, built once from its settings; a channel without secrets is off."""

from __future__ import annotations

from dataclasses import dataclass, field

from sportello_ingest.channels.api import ApiChannel
from sportello_ingest.channels.base import ChannelAdapter
from sportello_ingest.channels.chat import ChatAdapter
from sportello_ingest.channels.email import EmailAdapter, SmtpServer
from sportello_ingest.channels.meta import adapters as meta_adapters
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
    if settings.chat_session_secret.get_secret_value():
        channels.by_name["chat"] = ChatAdapter(settings.chat_session_secret.get_secret_value(),
                                               settings.chat_widget_keys)
    if settings.email_webhook_secret.get_secret_value():
        channels.by_name["email"] = EmailAdapter(settings.email_webhook_secret.get_secret_value(), SmtpServer(
            settings.smtp_host, settings.smtp_port, settings.smtp_username,
            settings.smtp_password.get_secret_value(), settings.smtp_starttls, settings.send_timeout_seconds))
    if settings.meta_app_secret.get_secret_value():
        # "meta" is the webhook; "facebook", "messenger", "instagram", "whatsapp" send.
        channels.by_name.update(meta_adapters(
            app_secret=settings.meta_app_secret.get_secret_value(),
            verify_token=settings.meta_verify_token.get_secret_value(),
            access_token=settings.meta_access_token.get_secret_value(),
            graph_url=f"{settings.meta_graph_base_url.rstrip('/')}/{settings.meta_graph_version}"))
    return channels

"""``python -m sportello_<service> topics``: the provisioning Job's command, on the real broker."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from sportello.bus.kafka import KafkaBus, ensure_topics
from sportello.cli import main
from sportello.settings import ServiceSettings
from sportello.topics import Topic, all_topic_names
from sportello_gateway.component import COMPONENT
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka


async def partitions_of(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described}


def test_the_command_creates_every_registered_topic(kafka_bootstrap: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPORTELLO_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    main([COMPONENT], ["topics"])
    for _ in range(100):  # a new topic's metadata reaches the broker's cache shortly after
        if set(all_topic_names()) <= set(asyncio.run(partitions_of(kafka_bootstrap))):
            return
        time.sleep(0.2)
    raise AssertionError("the topics command left registered topics missing")


async def test_new_topics_get_the_configured_partition_count(kafka_bootstrap: str) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_partitions=6)
    extra = Topic(f"sportello.test.partitions-{uuid.uuid4().hex[:8]}.v1", ())
    await ensure_topics(settings, extra=[extra])

    async def described() -> bool:  # a new topic's metadata reaches the broker's cache shortly after
        existing = await partitions_of(kafka_bootstrap)
        return existing.get(extra.name) == 6 and existing.get(extra.dead_letter) == 6

    assert await eventually(described, timeout=20, interval=0.2)


def test_services_can_be_told_not_to_create_topics() -> None:
    assert KafkaBus(ServiceSettings(kafka_create_topics=False))._create_topics is False
    assert KafkaBus(ServiceSettings())._create_topics is True

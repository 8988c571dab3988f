"""Envelope <-> record, following the CloudEvents Kafka binding in binary mode.

Attributes are ``ce_*`` headers; the value is the JSON payload. ``ce_type`` is the event type and
``ce_dataversion`` (an extension attribute) its contract version, so consumers pick the right model.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ValidationError

from sportello.bus.base import IncomingRecord, OutgoingRecord
from sportello.contracts import Envelope, event_model
from sportello.topics import Topic

CONTENT_TYPE = b"application/json"


class PoisonRecord(Exception):
    """A record no handler can ever process: it is dead-lettered at once, without retries."""


def encode(envelope: Envelope, topic: Topic) -> OutgoingRecord:
    if not topic.carries(type(envelope.data)):
        raise ValueError(f"{topic.name} does not carry {envelope.type} v{envelope.version}")
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(envelope.id).encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_dataversion", str(envelope.version).encode()),
        ("ce_source", envelope.source.encode()),
        ("ce_time", envelope.occurred_at.isoformat().encode()),
        ("ce_correlationid", envelope.correlation_id.encode()),
        ("content-type", CONTENT_TYPE),
    ]
    key = None
    if envelope.subject is not None:
        headers.append(("ce_subject", envelope.subject.encode()))
        key = envelope.subject.encode()
    return OutgoingRecord(
        topic=topic.name,
        key=key,
        value=envelope.data.model_dump_json().encode(),
        headers=tuple(headers),
    )


def _required(record: IncomingRecord, name: str) -> str:
    raw = record.header(name)
    if raw is None:
        raise PoisonRecord(f"missing header {name}")
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise PoisonRecord(f"header {name} is not UTF-8") from exc


def decode(record: IncomingRecord, topic: Topic) -> Envelope:
    event_type = _required(record, "ce_type")
    version_text = _required(record, "ce_dataversion")
    if not version_text.isdigit():
        raise PoisonRecord(f"ce_dataversion {version_text!r} is not an integer")
    model = event_model(event_type, int(version_text))
    if model is None or not topic.carries(model):
        raise PoisonRecord(f"{record.topic} does not carry {event_type} v{version_text}")
    try:
        data = model.model_validate_json(record.value)
        subject = record.header("ce_subject")
        return Envelope(
            id=uuid.UUID(_required(record, "ce_id")),
            type=event_type,
            version=int(version_text),
            source=_required(record, "ce_source"),
            occurred_at=datetime.fromisoformat(_required(record, "ce_time")),
            correlation_id=_required(record, "ce_correlationid"),
            subject=subject.decode() if subject is not None else None,
            data=data,
        )
    except (ValidationError, ValueError) as exc:
        raise PoisonRecord(f"invalid {event_type} v{version_text}: {exc}") from exc

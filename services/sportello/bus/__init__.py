"""The bus: one interface, two implementations (Apache Kafka and in-process)."""

from sportello.bus.base import Bus, Handler, IncomingRecord, OutgoingRecord, Subscription

__all__ = ["Bus", "Handler", "IncomingRecord", "OutgoingRecord", "Subscription"]

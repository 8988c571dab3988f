"""Sportello shared library.

Everything the five services have in common lives here and only here: event contracts and the topic
registry, the bus (Kafka and in-process), the database layer with the transactional outbox and the
inbox, HTTP plumbing and observability. Services import this package and never each other.
"""

"""The ``idempotency_keys`` table a service's schema carries when its POSTs honour ``Idempotency-Key``.

Like :func:`sportello.db.messaging_tables`, a factory: each service adds the table to its own metadata
and creates it in its own migration. See :mod:`sportello.http.idempotency` for the semantics.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        # A key is the caller's: two callers may pick the same one, and one caller reuses it per route.
        Column("principal", Text, primary_key=True),
        Column("method", Text, primary_key=True),
        Column("path", Text, primary_key=True),
        Column("key", Text, primary_key=True),
        Column("fingerprint", Text, nullable=False),  # sha256 of query and body: same key, other body -> 422
        # NULL while the first request is in flight; then what it answered, replayed as is.
        Column("status_code", Integer, nullable=True),
        Column("response_headers", JSONB, nullable=True),
        Column("response_body", LargeBinary, nullable=True),
        # An in-flight claim past this moment belongs to a request that died: the next one takes over.
        Column("locked_until", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Index("idempotency_keys_by_expiry", "expires_at"),
    )

"""PostgreSQL through SQLAlchemy 2 async + asyncpg; one SQL dialect everywhere."""

from sportello.db.database import Database, Tx
from sportello.db.tables import messaging_tables

__all__ = ["Database", "Tx", "messaging_tables"]

"""The canned responses table, in the gateway schema (migration e4c0a7e1d004)."""

from sqlalchemy import Column, DateTime, Index, Table, Text, Uuid, text

from sportello_gateway.tables import metadata

canned_responses = Table(
    "canned_responses",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("shortcut", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    # NULL: offered to everyone. A team's own response shadows a global one of the same shortcut.
    Column("team", Text, nullable=True),
    Column("language", Text, nullable=True),
    Column("created_by", Text, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Shortcuts are unique per team and among the global ones. Two partial indexes rather than one
    # over (team, shortcut): NULLs are distinct in a unique index, so globals would never collide.
    Index("canned_responses_team_shortcut", "team", "shortcut", unique=True,
          postgresql_where=text("team IS NOT NULL")),
    Index("canned_responses_global_shortcut", "shortcut", unique=True,
          postgresql_where=text("team IS NULL")),
)

from sportello.db.migrations import run_env
from sportello_priority.tables import metadata

run_env(metadata)

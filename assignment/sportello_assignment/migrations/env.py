from sportello.db.migrations import run_env
from sportello_assignment.tables import metadata

run_env(metadata)

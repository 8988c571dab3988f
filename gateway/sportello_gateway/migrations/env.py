from sportello.db.migrations import run_env
from sportello_gateway.tables import metadata

run_env(metadata)

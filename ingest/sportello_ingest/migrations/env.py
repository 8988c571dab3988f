from sportello.db.migrations import run_env
from sportello_ingest.tables import metadata

run_env(metadata)

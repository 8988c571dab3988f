from sportello.db.migrations import run_env
from sportello_crm_sync.tables import metadata

run_env(metadata)

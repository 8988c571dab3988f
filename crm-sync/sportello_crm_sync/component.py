"""crm-sync as a runnable component: schema, migrations, one subscription, no HTTP routes."""

from pathlib import Path

from sportello.runtime import Component
from sportello_crm_sync.handlers import subscriptions
from sportello_crm_sync.settings import CrmSyncSettings
from sportello_crm_sync.tables import metadata

COMPONENT = Component(
    name="crm-sync",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    settings_cls=CrmSyncSettings,
    subscriptions=subscriptions,
)

"""HubSpot property definitions as code (property-sync-api.md): definitions in JSON files,
validated before anything is sent, compared with HubSpot and synced. No Dagster, no FastAPI:
the Dagster assets and the REST endpoints call `sync` and `check`."""

from hubspot_deals.property_sync.definitions import (
    OBJECT_TYPES,
    DefinitionsError,
    PropertyDefinition,
    load_definitions,
)
from hubspot_deals.property_sync.sync import SyncReport, check, sync

__all__ = [
    "OBJECT_TYPES",
    "DefinitionsError",
    "PropertyDefinition",
    "SyncReport",
    "check",
    "load_definitions",
    "sync",
]

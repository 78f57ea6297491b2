"""The dlt source for HubSpot CRM objects, usable in any dlt pipeline, without Dagster.

- `hubspot_crm(objects=["deals"], properties=..., access_token=dlt.secrets.value, ...)`: the
  dlt source; `pipeline.run(hubspot_crm())` loads every record of the chosen objects.
- `run_scan(pipeline, scan_id, ...)`: one scan in checkpointed chunks, each committed with its
  rows, resuming where a stopped run committed last; `ScanHooks` are how a runner hears of it.
- `CrmObject`, `CRM_OBJECTS`: the declarations of the objects the source reads (deals,
  companies, contacts, line items); `deal_tables=[...]` adds a deal's associations and stage
  history (`deal_details`).
- `ScanFilter`: a scan's filters (createdate days, pipeline, archived records, changed since).

The names are imported on first use (PEP 562): the reader's own process imports the modules it
needs without loading dlt.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "hubspot_crm": "crm",
    "CrmScan": "crm",
    "run_scan": "scan_loop",
    "ScanHooks": "scan_loop",
    "ScanReport": "scan_loop",
    "CrmObject": "objects",
    "CRM_OBJECTS": "objects",
    "DEALS": "objects",
    "crm_object": "objects",
    "ScanFilter": "reader",
    "Checkpoint": "checkpoint",
    "HubSpotClient": "client",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)

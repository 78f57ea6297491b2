"""The Dagster Component: an existing Dagster project adds a HubSpot portal with a `defs.yaml`.

    # <project>/src/<package>/defs/hubspot_eu/defs.yaml
    type: hubspot_deals.defs.component.HubSpotDealsComponent
    attributes:
      key_prefix: hubspot_eu
      organization: acme-eu
      hubspot:
        access_token_env: HUBSPOT_EU_TOKEN
      destination:
        kind: duckdb
        duckdb_path: data/hubspot_eu.duckdb

`dg scaffold defs hubspot_deals.defs.component.HubSpotDealsComponent hubspot_eu` writes that
file with the folder's name as the prefix. The Component is the asset factory
(`hubspot_deals.defs.factory.hubspot_assets`) read from YAML: one portal per folder, every
Dagster name derived from `key_prefix`. Fields left out come from the environment (the
HUBSPOT_DEALS_* settings of docs/configuration.md).
"""

from pathlib import Path

import dagster as dg
from dagster.components.scaffold.scaffold import ScaffoldRequest, scaffold_with
from pydantic import Field

from hubspot_deals.defs.factory import hubspot_assets
from hubspot_deals.defs.resources import HubSpotResource, ScanDestination


class HubSpotApi(dg.Model, dg.Resolvable):
    """The portal's HubSpot API."""

    api_base_url: str | None = Field(
        default=None, description="Defaults to HUBSPOT_API_BASE_URL (https://api.hubapi.com)."
    )
    access_token_env: str | None = Field(
        default=None,
        description="Environment variable of the code location holding the portal's private-app "
        "token (never the token itself); defaults to HUBSPOT_ACCESS_TOKEN.",
    )
    max_attempts: int | None = Field(
        default=None, description="Attempts per request; defaults to HUBSPOT_DEALS_MAX_ATTEMPTS."
    )
    timeout_seconds: float | None = Field(
        default=None,
        description="Seconds per request; defaults to HUBSPOT_DEALS_HTTP_TIMEOUT_SECONDS.",
    )


class Destination(dg.Model, dg.Resolvable):
    """Where the portal's scans load. Two portals need two destinations."""

    kind: str | None = Field(
        default=None, description="`duckdb` or `postgres`; defaults to HUBSPOT_DEALS_DESTINATION."
    )
    duckdb_path: str | None = Field(
        default=None,
        description="DuckDB file, relative to the project root or absolute; defaults to "
        "HUBSPOT_DEALS_DUCKDB_PATH.",
    )
    postgres_dsn: str | None = Field(
        default=None,
        description="PostgreSQL DSN; defaults to HUBSPOT_DEALS_POSTGRES_DSN. Give it as "
        '"{{ env.MY_DSN }}" rather than in the file.',
    )
    pipelines_dir: str | None = Field(
        default=None,
        description="dlt's working folders, relative to the project root or absolute; defaults "
        "to <HUBSPOT_DEALS_HOME>/dlt_pipelines.",
    )


class HubSpotDealsScaffolder(dg.Scaffolder):
    """`dg scaffold defs`: a filled-in defs.yaml whose key prefix is the folder's name."""

    def scaffold(self, request: ScaffoldRequest) -> None:
        prefix = "".join(c if c.isalnum() else "_" for c in Path(request.target_path).name)
        dg.scaffold_component(
            request,
            {
                "key_prefix": prefix,
                "organization": prefix,
                "hubspot": {"access_token_env": "HUBSPOT_ACCESS_TOKEN"},
                "destination": {"kind": "duckdb", "duckdb_path": f"{prefix}.duckdb"},
            },
        )


@scaffold_with(HubSpotDealsScaffolder)
class HubSpotDealsComponent(dg.Component, dg.Model, dg.Resolvable):
    """HubSpot CRM deals, owners, pipelines and property definitions loaded with dlt: one scan
    partition per scan id, checked and summarized (the `hubspot_assets` factory)."""

    key_prefix: str = Field(
        default="hubspot",
        description="Asset keys are <key_prefix>/<table>; the scan job, op, partitions and "
        "resources are <key_prefix>_scan_job, <key_prefix>_scan, <key_prefix>_scans and "
        "<key_prefix>_{hubspot,destination,dlt}.",
    )
    organization: str | None = Field(
        default=None,
        description="Organization id of the portal's scans (rows and run tags); defaults to "
        "HUBSPOT_DEALS_DEFAULT_ORGANIZATION.",
    )
    hubspot: HubSpotApi = Field(default_factory=HubSpotApi)
    destination: Destination = Field(default_factory=Destination)
    sensors: bool = Field(
        default=True,
        description="With the portal's <key_prefix>_detect_crashed_scans and "
        "<key_prefix>_resume_failed_scans sensors.",
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        root = Path(context.project_root)

        def path(value: str | None) -> str | None:
            return str(root / value) if value else None

        return hubspot_assets(
            key_prefix=self.key_prefix,
            organization=self.organization,
            hubspot=HubSpotResource(**self.hubspot.model_dump()),
            destination=ScanDestination(
                kind=self.destination.kind,
                duckdb_path=path(self.destination.duckdb_path),
                postgres_dsn=self.destination.postgres_dsn,
                pipelines_dir=path(self.destination.pipelines_dir),
            ),
            sensors=self.sensors,
        )

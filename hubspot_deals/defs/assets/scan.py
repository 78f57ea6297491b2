"""The scan's assets: one dlt-loaded asset per HubSpot table, partitioned by scan id.

`build_scan_assets` makes them for one instance's names (`hubspot_deals.defs.names`): the
project's own code location and each HubSpot portal a host project adds through the asset
factory get their own multi-asset around the same scan, `scan_partition`, which runs the dlt
source's `run_scan` with Dagster's hooks.
"""

# No `from __future__ import annotations` here: Dagster infers the Config type at runtime.
import inspect
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.pipeline.pipeline import Pipeline
from pydantic import Field

from hubspot_deals.defs.assets.progress import ScanProgress
from hubspot_deals.defs.assets.stop import stop_if_requested
from hubspot_deals.defs.failures import scan_failure
from hubspot_deals.defs.incremental import incremental_cursor_ms
from hubspot_deals.defs.names import CONTRACT_NAMES, HubSpotNames
from hubspot_deals.defs.partitions import scans_partitions_for
from hubspot_deals.defs.resources import HubSpotResource, ScanDestination
from hubspot_deals.defs.writer_pool import writer_pool
from hubspot_deals.load.destination import definitions_pipeline, when_destination_free
from hubspot_deals.load.failures import CONFIGURATION_ERROR
from hubspot_deals.load.indexes import ensure_page_indexes
from hubspot_deals.load.reads import DestinationError
from hubspot_deals.scan import Tag
from hubspot_deals.settings import Settings, get_settings
from hubspot_deals.source.checkpoint import Checkpoint
from hubspot_deals.source.crm import hubspot_deals_source
from hubspot_deals.source.memory import make_this_process_lean
from hubspot_deals.source.reader import ScanFilter
from hubspot_deals.source.scan_loop import ScanHooks, run_scan

T = TypeVar("T")

ASSET_OWNER = "team:data-engineering"

DESCRIPTIONS = {
    "deals": "HubSpot deals, one row per deal per scan; properties as typed columns.",
    "users": "HubSpot owners (the users deals are assigned to), active and deactivated.",
    "pipelines": "HubSpot deal pipelines.",
    "pipeline_stages": "Stages of each deal pipeline, with closed flag and win probability.",
    "deal_properties": "HubSpot deal property definitions and the column type each loads as.",
}


class ScanConfig(Config):
    """A scan's filters. The token travels only as ciphertext (Fernet, deployment key)."""

    scan_type: str = Field(
        default="full",
        description="`full` reads every deal; `incremental` reads the deals created, modified or "
        "archived since the organization's last completed scan.",
    )
    organization_id: str | None = Field(
        default=None,
        description="Organization the scan belongs to; defaults to the run's organization tag "
        "or HUBSPOT_DEALS_DEFAULT_ORGANIZATION.",
    )
    properties: list[str] | None = Field(
        default=None, description="Deal properties to extract; all of the portal's by default."
    )
    include_archived: bool = Field(default=False, description="Also extract archived deals.")
    start_date: str | None = Field(
        default=None, description="First createdate day (YYYY-MM-DD, UTC, inclusive)."
    )
    end_date: str | None = Field(
        default=None, description="Last createdate day (YYYY-MM-DD, UTC, inclusive)."
    )
    pipeline: str | None = Field(
        default=None,
        description="Only deals of this pipeline (its id, e.g. `default`); every pipeline by "
        "default.",
    )
    access_token_env: str | None = Field(
        default=None,
        description="Name of an environment variable of the code location that holds the "
        "token (schedules and sensors use this: no token in run config at all).",
    )
    access_token_ciphertext: str | None = Field(
        default=None,
        description="The HubSpot token encrypted with the deployment key; without it the code "
        "location's HUBSPOT_ACCESS_TOKEN is used.",
    )
    oauth_refresh_token_ciphertext: str | None = Field(
        default=None,
        description="For a scan authorized by HubSpot OAuth: the grant's refresh token, "
        "encrypted. The scan refreshes its access token with it (and the code location's "
        "HUBSPOT_DEALS_OAUTH_CLIENT_ID/SECRET) whenever HubSpot answers that it expired.",
    )

    def deal_filter(self, modified_since_ms: int | None = None) -> ScanFilter:
        if self.scan_type not in ("full", "incremental"):
            raise Failure(
                description=f"scan_type must be full or incremental, not {self.scan_type!r}",
                metadata=CONFIGURATION_ERROR,
            )
        try:
            start = date.fromisoformat(self.start_date) if self.start_date else None
            end = date.fromisoformat(self.end_date) if self.end_date else None
        except ValueError as exc:
            raise Failure(
                description=f"invalid scan date range: {exc}", metadata=CONFIGURATION_ERROR
            ) from None
        if start and end and start > end:
            raise Failure(
                description="invalid scan date range: start_date is after end_date",
                metadata=CONFIGURATION_ERROR,
            )
        return ScanFilter(
            start_date=start,
            end_date=end,
            include_archived=self.include_archived,
            modified_since_ms=modified_since_ms,
            pipeline=self.pipeline or None,
        )


class ScanTranslator(DagsterDltTranslator):
    """Clean asset keys (`<prefix>/<table>`, `hubspot/<table>` in the project's own location), no
    phantom upstream assets, HubSpot kinds."""

    def __init__(self, key_prefix: str = CONTRACT_NAMES.key_prefix) -> None:
        self.key_prefix = key_prefix

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        name = data.resource.name
        return spec.replace_attributes(
            key=AssetKey([self.key_prefix, name]),
            deps=[],
            description=DESCRIPTIONS.get(name, spec.description),
            kinds={"hubspot", "dlt", data.pipeline.destination.destination_name},
            owners=[ASSET_OWNER],
        ).merge_attributes(tags={"source": "hubspot"})


def _organization_id(
    context: AssetExecutionContext, config: ScanConfig, hubspot: HubSpotResource
) -> str:
    return (
        config.organization_id
        or context.run.tags.get(Tag.ORGANIZATION)
        or hubspot.organization_id
        or get_settings().default_organization_id
    )


def build_scan_assets(
    names: HubSpotNames = CONTRACT_NAMES, destination: Settings | None = None
) -> AssetsDefinition:
    """The scan multi-asset of one instance: op, asset keys, partitions and resource keys from
    `names`; `destination` (the instance's settings) decides whether its op takes DuckDB's
    writer pool.

    The op's resource parameters are named by the instance's resource keys: Dagster reads them
    from the function's `__signature__`, so two instances need two resource sets, not two
    copies of the scan.
    """

    def scan_op(context: AssetExecutionContext, config: ScanConfig, **resources: Any) -> Iterator:
        yield from scan_partition(
            context,
            resources[names.dlt_resource],
            resources[names.hubspot_resource],
            resources[names.destination_resource],
            config,
            names,
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    scan_op.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation=AssetExecutionContext),
            inspect.Parameter("config", keyword, annotation=ScanConfig),
            inspect.Parameter(names.dlt_resource, keyword, annotation=DagsterDltResource),
            inspect.Parameter(names.hubspot_resource, keyword, annotation=HubSpotResource),
            inspect.Parameter(names.destination_resource, keyword, annotation=ScanDestination),
        ]
    )  # fmt: skip
    scan_op.__doc__ = scan_partition.__doc__
    return dlt_assets(
        dlt_source=hubspot_deals_source(),
        dlt_pipeline=definitions_pipeline(destination),
        name=names.scan_op,
        group_name=names.key_prefix,
        partitions_def=scans_partitions_for(names),
        dagster_dlt_translator=ScanTranslator(names.key_prefix),
        pool=writer_pool(destination),
    )(scan_op)


def scan_partition(
    context: AssetExecutionContext,
    dlt: DagsterDltResource,
    hubspot: HubSpotResource,
    destination: ScanDestination,
    config: ScanConfig,
    instance_names: HubSpotNames,
) -> Iterator[MaterializeResult]:
    """Extracts one scan (partition) of HubSpot deals and related tables with dlt.

    Deals load in checkpointed chunks; a run of a scan whose last run stopped part-way resumes
    after its last checkpoint, and a run of a finished scan (or one with other filters) starts a
    fresh pass that replaces the scan's rows. A pause or cancel requested while Dagster could not
    terminate the run is obeyed before anything is touched or after the next checkpoint
    (`hubspot_deals.defs.assets.stop`).
    """
    scan_id = context.partition_key
    stop_if_requested(context, "before reading or writing anything")
    organization_id = _organization_id(context, config, hubspot)
    settings = get_settings()
    make_this_process_lean()
    # Scans started without tags (UI, schedules) get them, so that they are found by tag.
    context.instance.add_run_tags(
        context.run.run_id, {Tag.ORGANIZATION: organization_id, Tag.SCAN_TYPE: config.scan_type}
    )
    organizations = instance_names.organizations_partitions
    if not context.instance.has_dynamic_partition(organizations, organization_id):
        context.instance.add_dynamic_partitions(organizations, [organization_id])
    scan_filter = config.deal_filter()
    client = hubspot.client(
        hubspot.resolve_access_token(config.access_token_ciphertext, config.access_token_env),
        config.oauth_refresh_token_ciphertext,
    )
    translator = ScanTranslator(instance_names.key_prefix)
    pipeline = destination.pipeline_for_scan(scan_id)
    resources = hubspot_deals_source().resources
    key_of = {
        name: translator.get_asset_spec(
            DltResourceTranslatorData(resource=r, pipeline=pipeline)
        ).key
        for name, r in resources.items()
    }
    selected = [name for name, key in key_of.items() if key in context.selected_asset_keys]
    hooks = DagsterScanHooks(
        context,
        organization_id,
        settings.heartbeat_seconds,
        instance_names.deals_key,
        destination.settings(),
    )
    try:
        report = run_scan(
            pipeline, scan_id, client=client, organization_id=organization_id,
            properties=config.properties, scan_filter=scan_filter, scan_type=config.scan_type,
            tables=selected, chunk_records=settings.checkpoint_deals,
            chunk_seconds=settings.checkpoint_seconds, max_url_length=hubspot.url_length_budget,
            hooks=hooks,
        )  # fmt: skip
    except Failure:
        raise  # classified already (configuration, a stop request, the destination before reading)
    except Exception as exc:
        failure = scan_failure(exc)
        if failure is None:
            raise
        context.log.error(f"scan {scan_id} failed: {failure.description}")
        raise failure from None
    finally:
        client.close()
    stream = report.streams.get("deals")
    resume = report.resumed_from.get("deals")
    modified_since = report.modified_since_ms
    stats = dict(client.stats)
    for name in selected:
        key = key_of[name]
        load_info = report.last_load if name == "deals" else report.first_load
        extra: dict[str, Any] = {
            **dlt.extract_resource_metadata(
                context, resources[name], load_info, counted(pipeline, report.rows_loaded)
            ),
            "scan_id": scan_id,
            "organization_id": organization_id,
            # The scan's totals over all its chunks (dlt's own figures are the last load's).
            "rows_loaded": report.rows_loaded.get(name, 0),
            "dagster/partition_row_count": report.rows_loaded.get(name, 0),
        }
        if key == instance_names.deals_key and stream is not None:
            extra.update(
                {
                    "deals_extracted": stream.deals_extracted,
                    "expected_live_deals": stream.expected,
                    "resumed_after_deals": resume.deals_extracted if resume else 0,
                    "checkpoints": stream.chunks,
                    "hubspot_requests": stats.get("requests", 0),
                    "hubspot_rate_limited": stats.get("rate_limited", 0),
                    "hubspot_retried_errors": stats.get("server_errors", 0)
                    + stats.get("connection_errors", 0),
                    "hubspot_rate_limit": MetadataValue.json(client.rate_limit or {}),
                    "read_strategy": stream.reader.live_strategy,
                    "scan_type": config.scan_type,
                    "scan_started_at": stream.started_at,
                    "modified_since": datetime.fromtimestamp(modified_since / 1000, UTC).isoformat()
                    if modified_since is not None
                    else None,
                    "unknown_properties": MetadataValue.json(
                        report.unknown_properties.get("deals", [])
                    ),
                    "filters": MetadataValue.json(
                        {
                            "properties": config.properties or "all",
                            "include_archived": config.include_archived,
                            "start_date": config.start_date,
                            "end_date": config.end_date,
                            "pipeline": config.pipeline,
                        }
                    ),
                    "duration_seconds": round(report.seconds, 3),
                }
            )
        yield MaterializeResult(asset_key=key, metadata=extra)


class DagsterScanHooks(ScanHooks):
    """run_scan's runner in Dagster: the run's log, progress and heartbeat as run tags
    (`progress.ScanProgress`), stop requests after each checkpoint (`stop.stop_if_requested`),
    a busy destination waited out (`load.destination.when_destination_free`), and the
    incremental cursor from the organization's completed scans."""

    def __init__(
        self,
        context: AssetExecutionContext,
        organization_id: str,
        heartbeat_seconds: float,
        deals_key: AssetKey,
        destination: Settings,
    ) -> None:
        self.context = context
        self.organization_id = organization_id
        self.heartbeat_seconds = heartbeat_seconds
        self.deals_key = deals_key
        self.destination = destination
        self.scan_progress: ScanProgress | None = None
        self.progress_started = False

    def info(self, message: str) -> None:
        self.context.log.info(message)

    def warning(self, message: str) -> None:
        self.context.log.warning(message)

    def destination_step(self, action: Callable[[], T]) -> T:
        """A step on the destination: waited out, and, outside the chunk loop, classified."""
        if self.progress_started:
            return when_destination_free(action, self.context.log.warning)
        try:
            return when_destination_free(action, self.context.log.warning)
        except Exception as exc:
            failure = scan_failure(exc)
            if failure is None:
                raise
            raise failure from None

    def incremental_since_ms(self) -> int | None:
        return incremental_cursor_ms(
            self.context.instance,
            self.organization_id,
            self.context.partition_key,
            timedelta(seconds=get_settings().incremental_lookback_seconds),
            self.deals_key,
        )

    def scan_started(self, resume: Checkpoint | None) -> None:
        self.scan_progress = ScanProgress(
            self.context, resuming=resume is not None, heartbeat_seconds=self.heartbeat_seconds
        )
        self.scan_progress.__enter__()
        self.progress_started = True

    def scan_ended(self) -> None:
        if self.scan_progress is not None:
            self.scan_progress.__exit__(None, None, None)

    def progress(self, extracted: int, expected: int | None) -> None:
        if self.scan_progress is not None:
            self.scan_progress(extracted, expected)

    def checkpointed(self, checkpoint: Checkpoint) -> None:
        if self.scan_progress is not None:
            self.scan_progress.checkpointed(checkpoint)

    def after_checkpoint(self, checkpoint: Checkpoint) -> None:
        stop_if_requested(self.context, f"after the checkpoint of {checkpoint.deals_extracted}")

    def after_first_load(self) -> None:
        create_page_indexes(self.context, self.destination)


def counted(pipeline: Pipeline, rows_loaded: dict[str, int]) -> Any:
    """The pipeline as dagster-dlt's metadata reader sees it: its schema, and a trace whose
    normalize step counted the scan's rows. dagster-dlt reads the rows from the last trace's
    normalize step, which a load of a pending package (read by an earlier try, while another
    writer had the DuckDB file) does not have: it would fail a scan whose rows all committed."""
    normalized = SimpleNamespace(row_counts=rows_loaded)
    return SimpleNamespace(
        default_schema=pipeline.default_schema,
        last_trace=SimpleNamespace(last_normalize_info=normalized),
    )


def create_page_indexes(context: AssetExecutionContext, settings: Settings) -> None:
    """The API's page indexes (PostgreSQL), once the scan's first load has made its tables:
    without them pages are only slower, so a failure is a warning and the next scan tries
    again."""
    try:
        created = ensure_page_indexes(settings)
    except DestinationError as exc:
        context.log.warning(f"page indexes not created: {exc}")
        return
    if created:
        context.log.info(f"page indexes created: {', '.join(created)}")

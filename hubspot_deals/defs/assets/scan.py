"""The scan's assets: one dlt-loaded asset per HubSpot table, partitioned by scan id.

`build_scan_assets` makes them for one instance's names (`hubspot_deals.defs.names`): the
project's own code location and each HubSpot portal a host project adds through the asset
factory get their own multi-asset around the same scan, `scan_partition`.
"""

# No `from __future__ import annotations` here: Dagster infers the Config type at runtime.
import inspect
import time
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
from dlt.common.pipeline import LoadInfo
from dlt.extract.source import DltSource
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
from hubspot_deals.load.destination import (
    clear_scan_rows,
    definitions_pipeline,
    delete_uncommitted_chunks,
    keep_newest_deal_rows,
    read_checkpoint,
    when_destination_free,
)
from hubspot_deals.load.failures import CONFIGURATION_ERROR
from hubspot_deals.load.indexes import ensure_page_indexes
from hubspot_deals.load.reads import DestinationError
from hubspot_deals.scan import Tag
from hubspot_deals.settings import Settings, get_settings
from hubspot_deals.source.checkpoint import DealStream, scan_fingerprint
from hubspot_deals.source.columns import DealTableBuilder
from hubspot_deals.source.crm import hubspot_deals_source, select_properties
from hubspot_deals.source.deals import DealFilter
from hubspot_deals.source.memory import make_this_process_lean

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

    def deal_filter(self, modified_since_ms: int | None = None) -> DealFilter:
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
        return DealFilter(
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
    fingerprint = scan_fingerprint(
        config.properties, config.deal_filter(), organization_id, config.scan_type
    )
    pipeline = destination.pipeline_for_scan(scan_id)
    # Local dlt state is a cache: drop it (and any package a crashed run left) and restore the
    # scan's committed state from the destination.
    pipeline.drop()

    def destination_step(action: Callable[[], T]) -> T:
        """A step on the destination outside the chunk loop: waited out, and classified."""
        try:
            return when_destination_free(action, context.log.warning)
        except Exception as exc:
            failure = scan_failure(exc)
            if failure is None:
                raise
            raise failure from None

    previous = destination_step(lambda: read_checkpoint(pipeline))
    resume = previous if previous and previous.fingerprint == fingerprint else None
    if resume and resume.finished:
        resume = None
    modified_since = None
    if config.scan_type == "incremental":
        modified_since = (
            resume.modified_since_ms
            if resume is not None
            else incremental_cursor_ms(
                context.instance,
                organization_id,
                scan_id,
                timedelta(seconds=settings.incremental_lookback_seconds),
                instance_names.deals_key,
            )
        )
        since = datetime.fromtimestamp((modified_since or 0) / 1000, UTC).isoformat()
        context.log.info(f"scan {scan_id}: incremental, deals changed since {since}")
    deal_filter = config.deal_filter(modified_since)
    if resume is None:
        # A fresh pass replaces whatever the scan had, even rows of a first run that died
        # before its first checkpoint.
        if destination_step(lambda: clear_scan_rows(pipeline, scan_id)):
            context.log.info(f"scan {scan_id}: fresh pass, previous rows replaced")
    else:
        orphans = destination_step(
            lambda: delete_uncommitted_chunks(pipeline, scan_id, resume.chunks)
        )
        context.log.info(
            f"scan {scan_id}: resuming after {resume.deals_extracted} deals "
            f"(checkpoint of {resume.committed_at}; {orphans} uncommitted rows dropped)"
        )
    client = hubspot.client(
        hubspot.resolve_access_token(config.access_token_ciphertext, config.access_token_env),
        config.oauth_refresh_token_ciphertext,
    )
    progress = ScanProgress(
        context, resuming=resume is not None, heartbeat_seconds=settings.heartbeat_seconds
    )
    facts: dict[str, Any] = {}

    def open_stream(definitions: list[dict[str, Any]]) -> DealStream:
        selected, unknown = select_properties(
            definitions, config.properties, deal_filter.needed_properties
        )
        if unknown:
            context.log.warning(f"HubSpot has no deal properties {unknown}; skipped")
        facts["unknown_properties"] = unknown
        stream = DealStream.open(
            client,
            DealTableBuilder(selected, scan_id, organization_id),
            deal_filter,
            fingerprint,
            hubspot.url_length_budget,
            resume_from=resume,
            chunk_deals=settings.checkpoint_deals,
            chunk_seconds=settings.checkpoint_seconds,
            on_progress=progress,
        )
        facts["stream"] = stream
        return stream

    cache: dict[str, Any] = {}
    rows_loaded: dict[str, int] = {}
    first_load: LoadInfo | None = None
    last_load: LoadInfo | None = None
    translator = ScanTranslator(instance_names.key_prefix)
    resources = hubspot_deals_source().resources
    key_of = {
        name: translator.get_asset_spec(
            DltResourceTranslatorData(resource=r, pipeline=pipeline)
        ).key
        for name, r in resources.items()
    }
    selected = [name for name, key in key_of.items() if key in context.selected_asset_keys]
    started = time.monotonic()
    try:
        with progress:
            while True:
                names = selected if first_load is None else ["deals"]

                def chunk_source(names: list[str] = names) -> DltSource:
                    return hubspot_deals_source(
                        client=client, scan_id=scan_id, organization_id=organization_id,
                        deal_stream=open_stream, cache=cache,
                    ).with_resources(*names)  # fmt: skip

                last_load, row_counts = run_chunk(pipeline, chunk_source, context)
                if first_load is None:
                    create_page_indexes(context, destination.settings())
                first_load = first_load or last_load
                for table, count in row_counts.items():
                    rows_loaded[table] = rows_loaded.get(table, 0) + count
                stream: DealStream | None = facts.get("stream")
                if stream is None or stream.exhausted or "deals" not in selected:
                    break
                checkpoint = stream.checkpoint()
                progress.checkpointed(checkpoint)
                stop_if_requested(context, f"after the checkpoint of {checkpoint.deals_extracted}")
    except Exception as exc:
        failure = scan_failure(exc)
        if failure is None:
            raise
        context.log.error(f"scan {scan_id} failed: {failure.description}")
        raise failure from None
    finally:
        client.close()
    stream = facts.get("stream")
    if stream is not None:
        progress.checkpointed(stream.checkpoint())
        if deal_filter.reads_archived:
            destination_step(lambda: keep_newest_deal_rows(pipeline, scan_id))
    stats = dict(client.stats)
    for name in selected:
        key = key_of[name]
        load_info = last_load if name == "deals" else first_load
        extra: dict[str, Any] = {
            **dlt.extract_resource_metadata(
                context, resources[name], load_info, counted(pipeline, rows_loaded)
            ),
            "scan_id": scan_id,
            "organization_id": organization_id,
            # The scan's totals over all its chunks (dlt's own figures are the last load's).
            "rows_loaded": rows_loaded.get(name, 0),
            "dagster/partition_row_count": rows_loaded.get(name, 0),
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
                    "unknown_properties": MetadataValue.json(facts.get("unknown_properties", [])),
                    "filters": MetadataValue.json(
                        {
                            "properties": config.properties or "all",
                            "include_archived": config.include_archived,
                            "start_date": config.start_date,
                            "end_date": config.end_date,
                            "pipeline": config.pipeline,
                        }
                    ),
                    "duration_seconds": round(time.monotonic() - started, 3),
                }
            )
        yield MaterializeResult(asset_key=key, metadata=extra)


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


def run_chunk(
    pipeline: Pipeline, chunk_source: Callable[[], DltSource], context: AssetExecutionContext
) -> tuple[LoadInfo, dict[str, int]]:
    """Loads one chunk; returns the load's info and the rows it loaded per table. A chunk that
    was read but not loaded (the destination was busy) is loaded from its package, never read
    again, so its checkpoint and rows commit together."""
    row_counts: dict[str, int] = {}

    def load() -> LoadInfo:
        try:
            # A pending package (read, not loaded) is finished; nothing new is read then.
            info = pipeline.run() if pipeline.has_pending_data else pipeline.run(chunk_source())
        finally:
            # The rows are counted when normalized: by the try that read the chunk, which may
            # not be the one that loads it.
            trace = pipeline.last_trace
            if trace is not None and trace.last_normalize_info is not None:
                row_counts.clear()
                row_counts.update(trace.last_normalize_info.row_counts)
        info.raise_on_failed_jobs()
        return info

    return when_destination_free(load, context.log.warning), row_counts

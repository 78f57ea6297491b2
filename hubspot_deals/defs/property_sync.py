"""Property definitions as Dagster assets (property-sync-api.md, "as code"): one asset per object
type, `hubspot/property_definitions/<object type>`, partitioned by organization. Materializing a
partition is the sync of that portal; the asset check `hubspot_matches_definitions` compares
without changing anything (drift made by hand in HubSpot fails it); a daily schedule runs the
checks of every organization in the organizations file.

The REST endpoints (`/api/v1/hubspot/properties/sync/...`) launch and read these runs through
GraphQL, as scans do. The portal's token: the run config's ciphertext (an API call with the
tenant's OAuth grant), else the environment variable it names (the organizations file's
`token_env`), else HUBSPOT_ACCESS_TOKEN.
"""

import json
import warnings
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    PreviewWarning,
    RunRequest,
    ScheduleEvaluationContext,
    asset,
    asset_check,
    define_asset_job,
    schedule,
)

from hubspot_deals.defs.partitions import organizations_partitions
from hubspot_deals.defs.resources import HubSpotResource
from hubspot_deals.load.failures import CONFIGURATION_ERROR
from hubspot_deals.organizations import load_organizations
from hubspot_deals.property_sync import (
    OBJECT_TYPES,
    DefinitionsError,
    SyncReport,
    check,
    load_definitions,
    sync,
)
from hubspot_deals.property_sync.contract import (
    CHECK_NAME,
    SCHEDULE_NAME,
    SYNC_JOB_NAME,
    asset_path,
)
from hubspot_deals.scan import Tag
from hubspot_deals.settings import get_settings

GROUP = "hubspot_properties"


def definitions_key(object_type: str) -> AssetKey:
    return AssetKey(asset_path(object_type))


class PropertySyncConfig(Config):
    """Where the portal's token comes from; none of it is a token in clear text."""

    access_token_ciphertext: str | None = None
    oauth_refresh_token_ciphertext: str | None = None
    access_token_env: str | None = None


def _client(hubspot: HubSpotResource, config: PropertySyncConfig) -> Any:
    token = hubspot.resolve_access_token(config.access_token_ciphertext, config.access_token_env)
    return hubspot.client(token, config.oauth_refresh_token_ciphertext)


def _definitions(object_type: str) -> list:
    folder = get_settings().property_definitions_dir
    try:
        return load_definitions(folder, object_type)
    except DefinitionsError as exc:
        raise Failure(
            description=f"the property definitions are not valid: {exc}",
            metadata={**CONFIGURATION_ERROR, "problems": MetadataValue.json(exc.problems)},
        ) from None


def _metadata(report: SyncReport) -> dict[str, Any]:
    return {
        **{k: v for k, v in report.as_dict().items() if k != "properties"},
        "properties": MetadataValue.json([p.as_dict() for p in report.properties]),
    }


def build_property_assets(object_type: str) -> tuple[AssetsDefinition, Any]:
    key = definitions_key(object_type)

    @asset(
        key=key,
        group_name=GROUP,
        partitions_def=organizations_partitions,
        description=f"HubSpot's {object_type} properties as the definitions file "
        f"`{object_type}.json` says: materializing is the sync.",
        kinds={"hubspot"},
    )
    def _sync(
        context: AssetExecutionContext, config: PropertySyncConfig, hubspot: HubSpotResource
    ) -> MaterializeResult:
        definitions = _definitions(object_type)
        client = _client(hubspot, config)
        try:
            report = sync(client, object_type, definitions)
        finally:
            client.close()
        context.log.info(
            f"{context.partition_key} {object_type}: "
            + ", ".join(f"{o} {report.count(o)}" for o in ("created", "updated", "skipped"))
            + f", conflicts {report.count('conflict')}, failed {report.count('failed')} in "
            f"{report.hubspot_requests} HubSpot requests"
        )
        return MaterializeResult(metadata=_metadata(report))

    def _check(
        context: AssetCheckExecutionContext, config: PropertySyncConfig, hubspot: HubSpotResource
    ) -> AssetCheckResult:
        definitions = _definitions(object_type)
        client = _client(hubspot, config)
        try:
            report = check(client, object_type, definitions)
        finally:
            client.close()
        drift = [p.as_dict() for p in report.properties if p.outcome != "skipped"]
        return AssetCheckResult(
            passed=report.in_sync,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "drifted": len(drift),
                "drift": MetadataValue.json(drift),
                "hubspot_requests": report.hubspot_requests,
            },
            description=json.dumps(drift[:3]) if drift else None,
        )

    # Partitioned asset checks are "preview" in Dagster 1.13: the check of one organization's
    # portal is exactly that, so the warning is acknowledged here rather than logged per load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        checked = asset_check(
            asset=key,
            name=CHECK_NAME,
            partitions_def=organizations_partitions,
            description="HubSpot's properties match the definitions (nothing to create or "
            "update, no conflict): drift made by hand in HubSpot fails it.",
        )(_check)

    return _sync, checked


PROPERTY_ASSETS = [build_property_assets(t) for t in OBJECT_TYPES]
property_assets = [a for a, _ in PROPERTY_ASSETS]
property_checks = [c for _, c in PROPERTY_ASSETS]
_keys = [definitions_key(t) for t in OBJECT_TYPES]

CHECK_KEYS = [AssetCheckKey(key, CHECK_NAME) for key in _keys]
property_sync_job = define_asset_job(
    SYNC_JOB_NAME,
    selection=AssetSelection.assets(*_keys),
    description="Syncs the property definitions to one organization's HubSpot portal, then "
    "checks that HubSpot matches them; the daily schedule runs the checks alone.",
)


@schedule(
    name=SCHEDULE_NAME,
    cron_schedule="30 4 * * *",
    job=property_sync_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Daily: does each organization's HubSpot still match the property definitions?",
)
def property_drift_schedule(context: ScheduleEvaluationContext) -> list[RunRequest]:
    requests = []
    for org in load_organizations():
        context.instance.add_dynamic_partitions(organizations_partitions.name, [org.id])
        config = {"config": {"access_token_env": org.token_env}}
        requests.append(
            RunRequest(
                run_key=f"{org.id}-{context.scheduled_execution_time:%Y-%m-%d}",
                partition_key=org.id,
                run_config={"ops": {_op_name(c): config for c in property_checks}},
                tags={Tag.ORGANIZATION: org.id},
                # The checks alone: nothing is synced, HubSpot is only compared.
                asset_selection=[],
                asset_check_keys=CHECK_KEYS,
            )
        )
    return requests


def _op_name(definition: Any) -> str:
    return definition.op.name

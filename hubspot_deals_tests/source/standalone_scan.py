"""A dlt script of the source on its own, run by the standalone tests in a process where Dagster
and FastAPI cannot be imported at all.

    python -m hubspot_deals_tests.source.standalone_scan <job as JSON>

The job names the destination (`duckdb` file, `postgres` DSN or `filesystem` folder), the
pipelines folder, the HubSpot base URL and token, and the mode: `source` runs `hubspot_crm` with
`pipeline.run`; `scan` runs `run_scan`; `crash` runs `run_scan` and ends the process hard right
after its first committed checkpoint. The last stdout line is a JSON report.
"""

import importlib.abc
import json
import os
import sys
from typing import Any

BLOCKED = ("dagster", "dagster_dlt", "fastapi", "api_shim")


class _Blocked(importlib.abc.MetaPathFinder):
    """Makes `import dagster` (and the rest of BLOCKED) fail in this process."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the source must run without it")
        return None


def main(job: dict[str, Any]) -> dict[str, Any]:
    sys.meta_path.insert(0, _Blocked())
    import dlt

    from hubspot_deals.source import ScanFilter, ScanHooks, hubspot_crm, run_scan

    kind, target = job["destination"]
    if kind == "duckdb":
        destination = dlt.destinations.duckdb(target)
    elif kind == "postgres":
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        credentials = PostgresCredentials(target)
        credentials.password = credentials.password or ""  # trust auth: no password
        destination = dlt.destinations.postgres(credentials=credentials)
    else:
        destination = dlt.destinations.filesystem(target)
    pipeline = dlt.pipeline(
        pipeline_name=job["pipeline"],
        destination=destination,
        dataset_name="hubspot_crm",
        pipelines_dir=job["pipelines_dir"],
    )
    file_format = "parquet" if kind == "filesystem" else None
    if job["mode"] == "source":
        # Configured the dlt way: the token and base URL come from the environment.
        os.environ["SOURCES__HUBSPOT__ACCESS_TOKEN"] = job["token"]
        os.environ["SOURCES__HUBSPOT__API_BASE_URL"] = job["base_url"]
        source = hubspot_crm(properties=job["properties"], include_archived=True)
        pipeline.run(source, loader_file_format=file_format)
        return {"row_counts": pipeline.last_trace.last_normalize_info.row_counts}

    class Hooks(ScanHooks):
        def after_checkpoint(self, checkpoint: Any) -> None:
            if job["mode"] == "crash":
                print(json.dumps({"committed": checkpoint.deals_extracted}), flush=True)
                os._exit(3)  # a crash: no clean-up of any kind

    if file_format:
        os.environ["NORMALIZE__LOADER_FILE_FORMAT"] = file_format
    report = run_scan(
        pipeline,
        job["scan_id"],
        access_token=job["token"],
        api_base_url=job["base_url"],
        organization_id="org-standalone",
        properties=job["properties"],
        scan_filter=ScanFilter(include_archived=True),
        chunk_records=job["chunk_records"],
        hooks=Hooks(),
    )
    resumed = report.resumed_from["deals"]
    return {
        "rows_loaded": report.rows_loaded,
        "resumed_after": resumed.deals_extracted if resumed else 0,
        "extracted": report.streams["deals"].deals_extracted,
        "blocked_loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)

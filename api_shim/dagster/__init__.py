"""The shim's one way to Dagster: GraphQL over HTTP.

- `documents`: the GraphQL documents the shim sends.
- `transport`: HTTP with timeouts, joined identical reads, recent runs answers.
- `client`: `DagsterClient`, each call mapped to a result or a specific exception.
- `failures`: a failed run's events read by the one rule of `hubspot_deals.run_failure`.
"""

from api_shim.dagster.client import DagsterClient, DagsterHealth, DagsterRun, Materialization
from hubspot_deals.run_failure import RunFailure

__all__ = ["DagsterClient", "DagsterHealth", "DagsterRun", "Materialization", "RunFailure"]

"""The REST shim: the documented scan API over Dagster GraphQL (filled in by the shim work)."""

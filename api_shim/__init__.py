"""The REST shim: the documented scan API (docs/spec/deals-extraction-api.md) over Dagster GraphQL.

`api_shim.app.create_app()` builds the FastAPI app; `api_shim.main.main()` serves it on port
5000. The shim holds no extraction logic and no scan state: runs are launched, watched and
removed through Dagster, and results are read from the destination.
"""

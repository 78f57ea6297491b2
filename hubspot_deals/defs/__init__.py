"""The Dagster code location: assets, checks, jobs, partitions, schedules, sensors and
resources; the asset factory (`factory.py`) and the Component (`component.py`) that let another
Dagster project add a HubSpot portal; `definitions.py` is the one wiring point. The only layer
that imports Dagster."""

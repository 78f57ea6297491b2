"""The Dagster code location: assets, checks, jobs, partitions, schedules, sensors and
resources; `definitions.py` is the one wiring point. The only layer that imports Dagster."""

"""Orchestration: the Dagster Definitions that drive tokenbooks, and nothing else.

Assets (ingestion, dbt, statements), resources, partitions, schedules, sensors, checks and crash recovery.
The work itself lives in the packages they call: ``ingestion``, ``warehouse``, ``billing``, ``alerting``.
"""

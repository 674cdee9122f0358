"""Ingestion: the platform's records, from a landing directory or its analytics API, into the warehouse's raw
tables, checked against the source contract; a malformed record is quarantined with its reason, never lost.

* ``sources``: where records come from; ``client``: the API client (pagination, retries, rate limits);
* ``records``: the contract, endpoint by endpoint; ``validation``: the contract compiled to DuckDB SQL;
* ``lines``: reading landing lines, hostile ones included; ``load``: chunked, resumable, idempotent loads.
"""

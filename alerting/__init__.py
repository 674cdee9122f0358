"""Alert delivery: the rows of the ``alerts`` mart (and stale raw assets) sent once each to webhooks.

No Dagster in here (``orchestration.sensors`` wires it into jobs and sensors), no alert conditions either
(those are dbt SQL): this package reads, de-duplicates, formats and sends.

* ``destinations``: webhook destinations and the delivery policy, from ``settings`` (the environment only);
* ``payloads``: the generic JSON and the Slack-compatible bodies;
* ``webhook``: HTTP POST with retries, backoff and an optional HMAC signature, never logging URLs or secrets;
* ``store``: the ``ops.alert_deliveries`` table, the delivery history and the de-duplication key;
* ``delivery``: one delivery pass: plan what is new or resolved, send what is due, record the outcome.
"""

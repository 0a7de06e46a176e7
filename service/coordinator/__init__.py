"""The coordinator's behaviour, free of gRPC: ``core`` (workers, jobs, shares, telemetry),
``budgets`` (which rule sets a site's budget, its inputs kept warm), ``plans``
(scenarios checked once, solves, the current plan), ``planning`` (optimiser data ->
solve -> domain plan), ``storage`` (SQLite), ``recorder`` and ``attribution`` (the
ledger's writer and its energy split by the plan), ``pool_bridge`` (the Stratum pool
mined for, for all workers), ``settings``.

Nothing here imports ``spillway.v1``: messages are converted in ``service.rpc``.
"""

"""The coordinator's behaviour, free of gRPC: ``core`` (workers, streams, telemetry),
``shares`` (jobs stored before they are sent, shares checked and stored),
``budgets`` (which rule sets a site's budget, its inputs kept warm), ``site_shares``
(a site's budget shed across its streaming workers), ``plans``
(scenarios checked once, solves, the current plan), ``planning`` (optimiser data ->
solve -> domain plan), ``storage`` (SQLite; its pool tables in ``pool_storage``;
each store on its own thread, ``service.sqlite``), ``recorder`` and ``attribution``
(the ledger's writer and its energy split by the plan), ``pool_bridge`` (the Stratum
pool mined for, for all workers), ``settings``.

Nothing here imports ``spillway.v1``: messages are converted in ``service.rpc``.
"""

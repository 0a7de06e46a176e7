"""The worker: follow the coordinator's budget and jobs, hash within the budget, return shares.

``core`` (the worker's loops), ``connection`` (channel, reconnect backoff),
``telemetry`` (signed reports: kept until answered, the last window on a stop),
``duty`` (budget -> hashing duty), ``power`` (measured energy), ``share_queue``
(shares, and the telemetry not yet answered, kept on disk), ``settings``. The
worker's gRPC client code in ``core`` and ``telemetry`` is one of the few places
outside ``service.rpc`` that touches ``spillway.v1`` messages.
"""

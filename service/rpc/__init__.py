"""The gRPC edge of the coordinator: with the worker's and the CLI's gRPC client code, the only
part of the service that builds or reads ``spillway.v1`` messages.

``server`` assembles the grpc.aio server (health, reflection, interceptors, one
servicer per service: ``worker_servicer``, ``operator_servicer``,
``planner_servicer``, ``ledger_servicer``, ``hashing_servicer``); ``convert``
maps every message to and from the domain types; ``checks`` holds the request
limits and the field checker; ``scenario`` turns a ``Scenario`` message into the
optimiser's data, checked once; ``codec`` stores plans and scenarios as their
messages for the coordinator; ``interceptors`` carry metrics, the error table,
rate limits and auth; ``planner_client`` pushes forecasts for the CLI and the demo,
which therefore build no messages themselves.
"""

"""Spillway's service: the ``spillway`` command, the gRPC coordinator and its workers.

Layers, from the edge in: ``cli`` (the command) and ``rpc`` (the gRPC edge, the
only place that builds or reads ``spillway.v1`` messages besides the gRPC
client code of ``worker`` and ``cli``) call ``coordinator`` (behaviour, storage,
planning, budgets), ``worker`` and ``demo``; these use ``domain`` (plain types
and their rules, in W, J and s), ``ledger`` (pure: imports nothing else of the
service), ``stratum``, ``report``, ``errors``, ``metrics`` and ``units``.
"""

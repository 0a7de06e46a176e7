"""The worker: follow the coordinator's budget and jobs, hash within the budget, return shares.

``core`` (the worker's loops), ``duty`` (budget -> hashing duty),
``share_queue`` (shares kept until acknowledged), ``settings``. The worker's gRPC
client code in ``core`` is one of the few places outside ``service.rpc`` that
touches ``spillway.v1`` messages.
"""

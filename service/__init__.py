"""Spillway's service: the ``spillway`` command line; the gRPC coordinator and workers follow."""

"""Spillway's gRPC contract, generated from ``proto/spillway`` (``make proto``)."""

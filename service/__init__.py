"""Spillway's service: the ``spillway`` command line (more to come)."""

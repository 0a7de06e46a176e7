"""Spillway's service: the ``spillway`` command line; the gRPC coordinator and workers follow.

``__version__`` is the installed distribution's version, whose one source is
``pyproject.toml``; the CLI's ``--version``, the workers' registration and the
deploy files (checked by a test) all use it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spillway")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]

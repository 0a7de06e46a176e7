"""New ``highspy.Highs`` instances whose start-up banner never reaches stdout.

Since highspy 1.16 HiGHS prints its banner ("Running HiGHS 1.16.0 (git hash ...)
Copyright ...") from the C++ constructor, before any option can be set and before a
log callback can be attached, straight to file descriptor 1. That breaks every
``--json`` command in a pipe and draws over the live screens. Older releases print it
only at the first run with ``output_flag`` on, which Spillway never turns on for the
console (see :func:`optimiser.progress.follow_highs_log`).

So the constructor runs with descriptor 1 pointed at a temporary file. Whatever lands
there is sorted line by line: HiGHS's banner goes to the debug log; anything else
(another thread's output that happened to flush in the same microseconds) is written
back to the real stdout, so nothing of anyone else's is lost. A lock keeps two
constructions from nesting their redirections.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
import threading
from typing import Any

logger = logging.getLogger(__name__)

# The first words of each line HiGHS prints when it starts (1.16: two lines).
_BANNER_PREFIXES = (b"Running HiGHS", b"Includes third-party software", b"Copyright (c)")

_redirect_lock = threading.Lock()
_libc: Any = None


def _flush_c_stdio() -> None:
    """Flush the C library's stdout buffer (HiGHS writes through it; in a pipe it is
    fully buffered, so without this the banner could surface after the redirection)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None)
    _libc.fflush(None)


def new_highs(highspy: Any) -> Any:
    """A new ``highspy.Highs`` with its console output off and no banner on stdout.

    Parameters
    ----------
    highspy:
        The imported ``highspy`` module.

    Returns
    -------
    highspy.Highs
        The instance, ``output_flag`` off (turned on only while a log callback reads
        the log).
    """
    with _redirect_lock:
        sys.stdout.flush()
        _flush_c_stdio()
        saved_fd = os.dup(1)
        try:
            with tempfile.TemporaryFile() as captured:
                os.dup2(captured.fileno(), 1)
                try:
                    highs = highspy.Highs()
                    highs.setOptionValue("output_flag", False)
                finally:
                    _flush_c_stdio()
                    os.dup2(saved_fd, 1)
                captured.seek(0)
                _sort_captured(captured.read(), saved_fd)
        finally:
            os.close(saved_fd)
    return highs


def _sort_captured(text: bytes, stdout_fd: int) -> None:
    """Log HiGHS's banner lines; write every other captured byte back to stdout."""
    others: list[bytes] = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(_BANNER_PREFIXES):
            logger.debug("HiGHS: %s", line.decode(errors="replace").rstrip())
        else:
            others.append(line)
    rest = b"".join(others)
    while rest:
        rest = rest[os.write(stdout_fd, rest) :]

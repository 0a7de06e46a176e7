"""A one-line progress display on stderr for long CLI work (read, build, solve).

Shown only when the stream is a terminal; otherwise every call does nothing, so
piped or captured output (and ``--json`` on stdout) stays clean. Each stage
rewrites one line (``\\r`` plus erase-to-end) while it runs, then leaves a final
line with its time::

    ✓ read scenario                                   0.61 s
    ✓ build model                                     1.52 s
    ⠹ solve base: ipm iteration 14, objective 8.534e+05, 0.4 s

Solver events come from the HiGHS log (:class:`optimiser.SolveProgress`).
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

    from optimiser.progress import SolveProgress

__all__ = ["ProgressDisplay"]

#: Spinner frames, one per redraw.
_SPIN = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: Least time between two redraws of the same line (s): the HiGHS log can run to
#: thousands of lines a second, the terminal needs a few updates a second.
REDRAW_S = 0.1


class ProgressDisplay:
    """Stages and solver progress drawn on one terminal line.

    Parameters
    ----------
    stream:
        Where to draw (the CLI passes ``sys.stderr``).
    enabled:
        Draw at all; ``None``: only if ``stream`` is a terminal.
    """

    def __init__(self, stream: TextIO, *, enabled: bool | None = None) -> None:
        self.stream = stream
        if enabled is None:
            isatty = getattr(stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._stage = ""
        self._t0 = 0.0
        self._last_draw = 0.0
        self._frame = 0
        self.events = 0

    @property
    def width(self) -> int:
        """Columns available for a line (the terminal's, 80 if unknown)."""
        return max(20, shutil.get_terminal_size((80, 24)).columns - 1)

    def _draw(self, text: str, *, final: bool = False) -> None:
        line = text[: self.width]
        self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        self.stream.flush()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Show ``name`` while the block runs, then its time (or that it failed)."""
        if not self.enabled:
            yield
            return
        self._stage, self._t0 = name, time.perf_counter()
        self._draw(f"{_SPIN[0]} {name} ...")
        ok = False
        try:
            yield
            ok = True
        finally:
            elapsed_s = time.perf_counter() - self._t0
            mark = "✓" if ok else "✗"
            width = min(self.width, 60)
            head = f"{mark} {name}"
            self._draw(f"{head:<{width - 9}}{elapsed_s:7.2f} s", final=True)
            self._stage = ""

    def solver(self, event: SolveProgress) -> None:
        """Take one solver event (``SolveOptions.progress``); redraws at most every
        :data:`REDRAW_S` seconds, and always on a run's final status."""
        self.events += 1
        if not self.enabled:
            return
        now = time.perf_counter()
        if event.method != "done" and now - self._last_draw < REDRAW_S:
            return
        self._last_draw = now
        self._frame = (self._frame + 1) % len(_SPIN)
        what = f"{self._stage or 'solve'} {event.label}".strip()
        if event.method == "done":
            detail = f"{event.status} after {event.iteration} iterations"
        else:
            detail = f"{event.method} iteration {event.iteration}, objective {event.objective:.4g}"
        self._draw(f"{_SPIN[self._frame]} {what}: {detail}, {event.elapsed_s:.1f} s")

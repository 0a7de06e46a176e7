"""Solver progress read from the HiGHS log: iterations, objective, elapsed time.

HiGHS hands its log to a logging callback line by line when ``output_flag`` is on,
even with ``log_to_console`` off, so the log can be read without printing it.
Two kinds of lines carry progress::

     Iter       primal obj         dual obj       pinf       dinf       gap      time
       3    3.35509238e+06  -6.93447126e+08   4.30e-04   1.32e-04  2.02e+00       0.2
      Iteration        Objective     Infeasibilities num(sum)
             82     7.2202076329e+05 Pr: 0(0) 0.0s

the first from the interior point solver (IPX), the second from dual or primal
simplex. :class:`HighsLogReader` turns them into :class:`SolveProgress` events.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["HighsLogReader", "ProgressCallback", "SolveProgress", "follow_highs_log"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: IPX: iteration (``*`` marks a step without a new factorisation), primal and dual
#: objective, primal and dual infeasibility, gap, time (s).
_IPM = re.compile(
    rf"^\s*(\d+)\*?\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s*$"
)
#: Simplex: iteration, objective, phase/infeasibility text, time (``0.0s``).
_SIMPLEX = re.compile(rf"^\s*(\d+)\s+({_NUM})\s+(?:Pr|Du|Ph1|Ph2)\b.*?\s({_NUM})s\s*$")
_STATUS = re.compile(r"^Model status\s*:\s*(.+?)\s*$")


@dataclass(frozen=True)
class SolveProgress:
    """One progress event of a HiGHS run.

    Attributes
    ----------
    label:
        Which run (the planner's ``base`` or ``mining``; empty if not named).
    method:
        ``ipm``, ``simplex``, or ``done`` for the final status line.
    iteration:
        Iteration count as the log states it (per method).
    objective:
        Objective value of the iterate (primal objective for IPM; ``nan`` if none).
    elapsed_s:
        Seconds since the run started (wall clock, measured here).
    status:
        HiGHS's model status text on the ``done`` event, else empty.
    """

    label: str
    method: str
    iteration: int
    objective: float
    elapsed_s: float
    status: str = ""


ProgressCallback = Callable[[SolveProgress], None]


class HighsLogReader:
    """Parse HiGHS log text into :class:`SolveProgress` events.

    Parameters
    ----------
    callback:
        Receives each event.
    label:
        Stamped on every event.
    """

    def __init__(self, callback: ProgressCallback, label: str = "") -> None:
        self.callback = callback
        self.label = label
        self.t0 = time.perf_counter()
        self.last_iteration = 0
        self._pending = ""

    def feed(self, text: str) -> None:
        """Take a piece of the log (whole or partial lines)."""
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line)

    def close(self) -> None:
        """Parse what is left of an unterminated last line."""
        if self._pending:
            self._line(self._pending)
            self._pending = ""

    def _line(self, line: str) -> None:
        elapsed_s = time.perf_counter() - self.t0
        if m := _IPM.match(line):
            self._emit("ipm", int(m.group(1)), float(m.group(2)), elapsed_s)
        elif m := _SIMPLEX.match(line):
            self._emit("simplex", int(m.group(1)), float(m.group(2)), elapsed_s)
        elif m := _STATUS.match(line):
            self._emit("done", self.last_iteration, float("nan"), elapsed_s, m.group(1))

    def _emit(
        self, method: str, iteration: int, objective: float, elapsed_s: float, status: str = ""
    ) -> None:
        self.last_iteration = iteration
        self.callback(SolveProgress(self.label, method, iteration, objective, elapsed_s, status))


@contextmanager
def follow_highs_log(
    highs: Any,
    highspy: Any,
    log_to_console: bool,
    callback: ProgressCallback | None,
    label: str = "",
) -> Iterator[HighsLogReader | None]:
    """Route a ``highspy.Highs`` log into a callback for the runs inside the block.

    Turns ``output_flag`` on with ``log_to_console`` off (the log is read, not
    printed); on exit stops the callback and puts ``output_flag`` back to
    ``log_to_console`` (how :class:`~optimiser.solve.HighsModel` sets it) and
    ``log_to_console`` back to HiGHS's default (on).

    Parameters
    ----------
    highs, highspy:
        The live instance and the ``highspy`` module.
    log_to_console:
        Whether the instance prints its log (``SolveOptions.log_to_console``).
    callback:
        Receives the :class:`SolveProgress` events; ``None``: the block runs as is.
    label:
        Stamped on every event.

    Returns
    -------
    Iterator[HighsLogReader | None]
        The reader while the block runs (``None`` without a callback).
    """
    if callback is None:
        yield None
        return
    reader = HighsLogReader(callback, label)

    def on_log(_kind: Any, message: str, *_rest: Any) -> None:
        reader.feed(message)

    logging_cb = highspy.cb.HighsCallbackType.kCallbackLogging
    highs.setOptionValue("output_flag", True)
    highs.setOptionValue("log_to_console", False)
    highs.setCallback(on_log, None)
    highs.startCallback(logging_cb)
    try:
        yield reader
    finally:
        highs.stopCallback(logging_cb)
        highs.setOptionValue("output_flag", log_to_console)
        highs.setOptionValue("log_to_console", True)
        reader.close()

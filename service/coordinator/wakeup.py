"""``Wakeup``: wakes every waiting stream at once, and is safe to cancel.

It replaces ``asyncio.Condition`` + ``asyncio.wait_for(cond.wait())`` in the
stream loops. That pattern breaks under a storm of cancelled streams (issue 13,
item 6): a stream cancelled while its timed-out ``wait`` is still re-taking the
condition's lock leaves ``async with`` releasing a lock it does not hold
(``RuntimeError: Lock is not acquired``), and the inner wait then takes the
lock and keeps it for good, so every later ``notify`` -- ``RunPlan``, budget
changes, shutdown -- blocks forever. A ``Wakeup`` holds no lock: a waiter waits
on the current generation's ``Event``; ``notify_all`` sets it and starts a new
one. A cancelled waiter leaves nothing behind.
"""

from __future__ import annotations

import asyncio

__all__ = ["Wakeup"]


class Wakeup:
    """A broadcast: ``notify_all`` wakes every current ``wait``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify_all(self) -> None:
        """Wake every waiter; later waiters wait for the next call."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout_s: float) -> bool:
        """Wait for the next ``notify_all`` or ``timeout_s``; whether it was a notify."""
        event = self._event
        try:
            # asyncio.timeout cancels this task itself (no inner task as wait_for makes).
            async with asyncio.timeout(timeout_s):
                await event.wait()
        except TimeoutError:
            return False
        return True

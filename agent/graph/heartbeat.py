"""A run's heartbeat: while its process lives, meta.json's `heartbeat` (ISO UTC time) is refreshed every
`every_s` seconds by a thread of its own, so it stays fresh through long tool calls, model calls and
outage waits; a heartbeat that is old names a process that is gone or hung. The same thread calls
`on_tick` about once a second (the runner uses it to stop a running command when a stop is requested).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agent.runstore import RunStore, now_iso

EVERY_S = 10.0          # the contract with campaigns: fresher than 30 s while the process lives
log = logging.getLogger(__name__)


class Heartbeat:
    """Start with `start()`, end with `stop()` (or use it as a context manager)."""

    def __init__(self, store: RunStore, every_s: float = EVERY_S, on_tick: Callable[[], None] | None = None,
                 tick_s: float = 1.0) -> None:
        self.store, self.every_s, self.on_tick, self.tick_s = store, every_s, on_tick, tick_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{store.run_id}", daemon=True)

    def beat(self) -> None:
        """Write the heartbeat now (a full or read-only disk is logged, never raised)."""
        try:
            self.store.update_meta(sync=False, heartbeat=now_iso())
        except Exception as exc:  # noqa: BLE001 - the heartbeat must never break the run
            log.info("heartbeat of %s not written: %s", self.store.run_id, exc)

    def _loop(self) -> None:
        waited = 0.0
        while not self._stop.wait(self.tick_s):
            waited += self.tick_s
            if waited >= self.every_s:
                waited = 0.0
                self.beat()
            if self.on_tick is not None:
                try:
                    self.on_tick()
                except Exception as exc:  # noqa: BLE001 - nor may what it watches
                    log.info("heartbeat tick of %s failed: %s", self.store.run_id, exc)

    def start(self) -> Heartbeat:
        """Beat once, then keep beating in the background."""
        self.beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating (the last heartbeat stays in meta.json)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

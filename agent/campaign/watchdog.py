"""Which live attempt is hung: the one rule `campaign status` flags with and the supervisor acts on.

An attempt's process is hung when it holds the attempt but has stopped moving:
- its heartbeat (`heartbeat` in the run's meta.json, an ISO time the attempt's process refreshes every few
  seconds while it lives, whatever it is doing) is older than HEARTBEAT_STALE_S (counted from its process's
  launch at the earliest: a relaunched attempt inherits its predecessor's stale beat); or, for a record without
  heartbeats,
- its record has been quiet (no event) for longer than the attempt's wall budget plus QUIET_GRACE_S: a tool
  call is capped by the time left, so no healthy attempt is silent that long (counted from its process's
  launch at the earliest). Without a wall budget only the heartbeat counts.
An attempt paused for a model outage is never hung: it waits on purpose, and resumes when the model is back.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

HEARTBEAT_STALE_S = 300.0   # a heartbeat older than this: the attempt's process no longer runs its loop
QUIET_GRACE_S = 900.0       # records without heartbeats: quiet this long past the wall budget
KILL_GRACE_S = 60.0         # a hung worker asked to stop is killed (its whole process group) after this


def age_s(ts: Any, now: float | None = None) -> float | None:
    """Seconds since an ISO timestamp (None when there is none or it cannot be read)."""
    try:
        return max(0.0, (now or time.time()) - datetime.fromisoformat(str(ts)).timestamp())
    except (TypeError, ValueError):
        return None


def hung_reason(meta: dict[str, Any], last_event: dict[str, Any], wall_budget_s: float | None,
                launched: float | None = None, now: float | None = None) -> str | None:
    """Why a live attempt counts as hung (None when it does not): its meta.json, its last event, its budget,
    and when its process was launched (quiet time counts from then at the earliest)."""
    if meta.get("status") == "paused":
        return None
    beat = age_s(meta.get("heartbeat"), now)
    if beat is not None and launched:
        # a relaunched attempt has not beaten yet: the stale beat is its hung predecessor's
        beat = min(beat, (now or time.time()) - launched)
    if beat is not None:
        return f"no heartbeat for {beat:.0f}s" if beat > HEARTBEAT_STALE_S else None
    quiet = age_s(last_event.get("ts"), now)
    if quiet is not None and launched:
        quiet = min(quiet, (now or time.time()) - launched)
    if wall_budget_s and quiet is not None and quiet > wall_budget_s + QUIET_GRACE_S:
        return f"no event for {quiet:.0f}s (wall budget {wall_budget_s:.0f}s)"
    return None

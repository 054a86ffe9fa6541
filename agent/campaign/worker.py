"""One attempt in its own process: `python -m agent.campaign.worker CAMPAIGN_DIR TASK SEED`.

It takes the attempt's lock (so two processes never work one attempt), then starts the attempt's run, or
resumes it from its checkpoint, or does nothing when it had already finished. Its exit status tells the
supervisor what happened; the result itself is always read from the run record.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from agent.campaign.exits import BUSY, ENDPOINT_DOWN, FINISHED, INTERRUPTED, RUN_FAILED, USAGE
from common.errors import UserError


def _sigterm_as_interrupt() -> None:
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def work(campaign_dir: Path, task: str, seed: int) -> int:
    """Work one attempt to its end (start, resume or nothing to do); returns the exit status."""
    from agent.campaign.store import CampaignStore, FileLock
    from agent.graph.runner import is_finished, resume_run, start_run
    from agent.llm.types import EndpointDown, LLMError
    from agent.runstore import RunStore

    store = CampaignStore(campaign_dir)
    spec = store.spec().run_spec(task, seed)
    lock = FileLock(store.lock_path(spec.run_id))
    for _ in range(20):                    # a status check may hold the lock shared for an instant
        if lock.acquire():
            break
        time.sleep(0.1)
    else:
        print(f"attempt {spec.run_id} is worked by another process; leaving it to that one", file=sys.stderr)
        return BUSY
    record = store.record_dir(spec.run_id)
    try:
        if (record / "meta.json").is_file():
            if is_finished(RunStore(record)):
                print(f"attempt {spec.run_id} had already finished", file=sys.stderr)
                return FINISHED
            try:
                resume_run(spec.run_id)
                return FINISHED
            except UserError as exc:
                if "before its first step was recorded" not in str(exc):
                    raise
                RunStore(record).discard()     # nothing ran in it: start afresh
        start_run(spec, on_created=lambda rid: print(f"run id: {rid}", file=sys.stderr, flush=True))
        return FINISHED
    except KeyboardInterrupt:
        print("interrupted; the attempt resumes from its checkpoint", file=sys.stderr)
        return INTERRUPTED
    except EndpointDown as exc:
        print(f"model endpoint down before the attempt could start: {exc}", file=sys.stderr)
        return ENDPOINT_DOWN
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return RUN_FAILED
    finally:
        lock.release()


def main(argv: list[str] | None = None) -> int:
    """Entry point: CAMPAIGN_DIR TASK SEED."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m agent.campaign.worker CAMPAIGN_DIR TASK SEED", file=sys.stderr)
        return USAGE
    _sigterm_as_interrupt()
    print(f"worker {time.strftime('%Y-%m-%d %H:%M:%S')} {args[1]} seed {args[2]}", file=sys.stderr, flush=True)
    return work(Path(args[0]), args[1], int(args[2]))


if __name__ == "__main__":
    sys.exit(main())

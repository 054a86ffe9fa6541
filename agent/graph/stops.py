"""Why a run stopped: a small set of kinds, each saying whether the run failed (and so is no lesson)."""

from __future__ import annotations

from enum import StrEnum


class PolicyStop(Exception):
    """Raised by a policy that has nothing more to say (a replay that ran out, a rule engine that is done)."""


class StopKind(StrEnum):
    """The kind of a run's stop; `stop_reason` next to it in the state is the human-readable detail."""

    AGENT_FINISHED = "agent_finished"        # the agent called `finish`
    USER_STOP = "user_stop"                  # a person asked the attempt to stop (agent.graph.control)
    SUBMITTED = "submitted"                  # records of earlier versions: the agent's submit ended the run
    BUDGET = "budget"                        # turns, tokens, wall time or money ran out
    NO_TOOL_CALLS = "no_tool_calls"          # the model stopped calling tools despite the nudges
    POLICY_DONE = "policy_done"              # the policy said it has nothing more to do (PolicyStop)
    ENDPOINT_UNUSABLE = "endpoint_unusable"  # bad key, bad URL, no endpoint: retrying cannot help
    CONTEXT_OVERFLOW = "context_overflow"    # the history exceeds the model's window even compacted
    MODEL_ERROR = "model_error"              # the model (or a custom policy) failed in another way

    @property
    def failed(self) -> bool:
        """Whether the run failed: the harness or the endpoint, not the attempt, ended it.

        A failed run is still graded, but its status is "failed", its exit status non-zero, and no
        self-critique about the task goes into memory (the failure says nothing about the task).
        """
        return self in (StopKind.ENDPOINT_UNUSABLE, StopKind.CONTEXT_OVERFLOW, StopKind.MODEL_ERROR)

    @property
    def status(self) -> str:
        """The run's final status: "failed" or "finished"."""
        return "failed" if self.failed else "finished"


def stop_kind(state: dict) -> StopKind | None:
    """The state's stop kind; for checkpoints written before kinds existed, read from the old reason text."""
    kind = state.get("stop_kind")
    if kind:
        return StopKind(kind)
    reason = state.get("stop_reason")
    if not reason:
        return None
    return _LEGACY.get(reason.split(":", 1)[0], StopKind.BUDGET)


_LEGACY = {"submitted": StopKind.SUBMITTED, "no_tool_calls": StopKind.NO_TOOL_CALLS, "error": StopKind.MODEL_ERROR,
           "replay_exhausted": StopKind.POLICY_DONE, "policy_stop": StopKind.POLICY_DONE}

"""Test helpers for runs offline: a toy competition environment, scripted turns and policies.

A scripted policy returns the model client's own AssistantTurn (agent.llm.types), so the graph sees
exactly what it sees from a model; `failing` raises the client's errors the same way.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from agent.llm.types import AssistantTurn, ToolCall, Usage
from common import paths

TOY_ID = "toy-binary"


def toy_env(root: Path, cid: str = TOY_ID) -> dict[str, str]:
    """Write a toy competition, a scaffold copy and empty memory under root; return the env vars to use."""
    from tasks.mle_lite.toy import write_toy_competition

    root = Path(root)
    write_toy_competition(root / "competitions", cid)
    scaffold = root / "scaffold"
    if not scaffold.exists():
        shutil.copytree(paths.ROOT / "scaffold", scaffold)
    return {
        "EVOFORGE_COMPETITIONS_PATH": str(root / "competitions"),
        "EVOFORGE_DATA": str(root / "data"),
        "EVOFORGE_RUNS": str(root / "runs"),
        "EVOFORGE_MEMORY": str(root / "MEMORY.md"),
        "EVOFORGE_SCAFFOLD": str(scaffold),
        "EVOFORGE_LLM_CONFIG": str(root / "no-llm-config.yaml"),   # the user's own config is not read
    }


def tool_call(id: str, name: str, args: dict | str) -> ToolCall:
    """A tool call; args given as a str are sent raw (e.g. malformed JSON)."""
    raw = args if isinstance(args, str) else json.dumps(args)
    return ToolCall(id, name, raw, args if isinstance(args, dict) else None)


def turn(*calls: tuple[str, dict | str], content: str = "", thinking: str = "", tokens: int = 10,
         cost_usd: float = 0.0) -> AssistantTurn:
    """A turn with the given (tool name, args) calls, `tokens` prompt and `tokens` completion tokens."""
    out = [tool_call(f"c{abs(hash((name, str(args), i))) % 10**8}", name, args) for i, (name, args) in enumerate(calls)]
    return AssistantTurn(content=content, thinking=thinking, thinking_format="reasoning_content" if thinking else None,
                         tool_calls=out, usage=Usage(tokens, tokens, 2 * tokens), cost_usd=cost_usd,
                         finish_reason="tool_calls" if out else "stop")


def scripted(turns: list[AssistantTurn | BaseException]) -> Callable[[dict], AssistantTurn]:
    """A policy that plays turn i at state['turns'] == i (so a resumed run goes on where it was); an exception
    in the list is raised once in its place and does not count as a turn. Repeats the last entry when out."""
    raised = {"n": 0}

    def policy(state: dict) -> AssistantTurn:
        step = turns[min(state.get("turns", 0) + raised["n"], len(turns) - 1)]
        if isinstance(step, BaseException):
            raised["n"] += 1
            raise step
        return step
    return policy


def record_turns(runs: Path, run_id: str, calls: list[tuple[str, dict]], task: str = TOY_ID) -> None:
    """Write a finished run whose model turns make these calls, one per turn (a source for --policy replay)."""
    from agent.runstore import RunStore

    src = RunStore.create(run_id, base=runs)
    src.write_meta({"run_id": run_id, "task": task, "policy": "scripted", "status": "finished"})
    for i, (name, args) in enumerate(calls):
        t = AssistantTurn(content=f"turn {i + 1}", thinking=f"plan {i + 1}", thinking_format="reasoning_content",
                          tool_calls=[tool_call(f"call-{i + 1}", name, args)])
        src.append_event(i, i, "model_turn", **t.to_event(), message=t.to_message())


SOLVE = """import os, pandas as pd
from sklearn.linear_model import LogisticRegression
d = os.environ['DATA_DIR']
tr, te = pd.read_csv(f'{d}/train.csv'), pd.read_csv(f'{d}/test.csv')
m = LogisticRegression().fit(tr[['x1','x2','x3']], tr['target'])
pd.DataFrame({'id': te['id'], 'target': m.predict_proba(te[['x1','x2','x3']])[:, 1]}).to_csv('submission.csv', index=False)
print('ok')
"""

# A short solving session, one call a turn: turn 2 prints a long output, turn 5 validates, turn 6 submits.
SOLVE_CALLS = [("list_files", {}), ("bash", {"command": "seq 1 60"}),
               ("write_file", {"path": "solve.py", "content": SOLVE}), ("run_python", {"path": "solve.py"}),
               ("validate_submission", {}), ("submit", {})]


def solved_run(runs: Path, run_id: str) -> None:
    """A finished run of the real graph on the toy competition that replays SOLVE_CALLS (recorded as `<id>-src`)."""
    from agent.graph.runner import start_run
    from agent.graph.spec import RunSpec

    record_turns(runs, f"{run_id}-src", SOLVE_CALLS)
    start_run(RunSpec(TOY_ID, policy="replay", replay_run=f"{run_id}-src", sandbox="local", run_id=run_id))

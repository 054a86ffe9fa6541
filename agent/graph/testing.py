"""Small helpers for exercising runs offline: a toy competition environment and scripted policies."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from agent.graph.turns import Call, Turn, TurnUsage
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
    }


def apply_env(env: dict[str, str]) -> None:
    """Set the env vars in this process."""
    os.environ.update(env)


def turn(*calls: tuple[str, dict | str], content: str = "", thinking: str = "", tokens: int = 10) -> Turn:
    """A turn with the given (tool name, args) calls; args given as a str are sent raw (e.g. malformed JSON)."""
    out = []
    for i, (name, args) in enumerate(calls):
        raw = args if isinstance(args, str) else json.dumps(args)
        out.append(Call(f"c{abs(hash((name, raw, i))) % 10**8}", name, raw, args if isinstance(args, dict) else None))
    return Turn(content=content, thinking=thinking, thinking_format="reasoning_content" if thinking else None,
                tool_calls=out, usage=TurnUsage(tokens, tokens, 2 * tokens))


def scripted(turns: list[Turn]) -> Callable[[dict], Turn]:
    """A policy that plays the given turns by index (state['turns']); repeats the last one when out."""
    def policy(state: dict) -> Turn:
        i = min(state.get("turns", 0), len(turns) - 1)
        return turns[i]
    return policy


SOLVE = """import os, pandas as pd
from sklearn.linear_model import LogisticRegression
d = os.environ['DATA_DIR']
tr, te = pd.read_csv(f'{d}/train.csv'), pd.read_csv(f'{d}/test.csv')
m = LogisticRegression().fit(tr[['x1','x2','x3']], tr['target'])
pd.DataFrame({'id': te['id'], 'target': m.predict_proba(te[['x1','x2','x3']])[:, 1]}).to_csv('submission.csv', index=False)
print('ok')
"""

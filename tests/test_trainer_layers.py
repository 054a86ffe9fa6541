"""The trainer stands alone: no module of trainer/ imports agent (not even inside a function), its modules import
one another without cycles, and `python -m trainer` runs with the trainer's dependencies only."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAINER = ROOT / "trainer"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (absolute names)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    mods = {f"trainer.{p.stem}": p for p in TRAINER.glob("*.py") if p.stem != "__init__"}
    return {name: {m for m in _imports(p) if m in mods and m != name} for name, p in mods.items()}


def test_trainer_never_imports_agent():
    for path in TRAINER.rglob("*.py"):
        bad = [m for m in _imports(path) if m == "agent" or m.startswith("agent.")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_trainer_modules_import_without_cycles():
    graph = _graph()
    assert "trainer.group" in graph["trainer.rollout_worker"]          # the shared type has its own module
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join(path + [nxt])
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_python_m_trainer_loads_no_agent_or_typer():
    code = ("import sys, runpy; sys.argv = ['trainer', '--help']\n"
            "try:\n    runpy.run_module('trainer', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('agent', 'typer', 'langgraph', 'openai')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "bundled recipes: " in out.stdout and out.stdout.strip().splitlines()[-1] == "[]"

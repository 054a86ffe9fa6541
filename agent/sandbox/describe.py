"""The sandbox's real environment in a few lines for the agent's system prompt (`$environment`).

What is installed is asked of the sandbox itself (one short Python run inside it), so the prompt
states what this sandbox kind really has, not what the scaffold hopes for.
"""

from __future__ import annotations

import json

from agent.sandbox.base import Sandbox

# distribution name -> import name
PACKAGES = {"numpy": "numpy", "pandas": "pandas", "scipy": "scipy", "scikit-learn": "sklearn",
            "Pillow": "PIL", "PyYAML": "yaml", "tqdm": "tqdm", "matplotlib": "matplotlib",
            "torch": "torch", "lightgbm": "lightgbm", "xgboost": "xgboost", "catboost": "catboost"}

_PROBE = r"""
import importlib.metadata as md, importlib.util as u, json, platform, sys
found = {}
for dist, mod in json.loads(sys.argv[1]).items():
    if u.find_spec(mod) is None:
        found[dist] = None
        continue
    try:
        found[dist] = md.version(dist)
    except Exception:
        found[dist] = "?"
print(json.dumps({"python": platform.python_version(), "packages": found}))
"""


def probe(sb: Sandbox) -> dict | None:
    """{"python": version, "packages": {name: version or None}} as seen inside the sandbox; None without Python."""
    cmd = f"python3 -c {_quote(_PROBE)} {_quote(json.dumps(PACKAGES))}"
    r = sb.exec(cmd, timeout=120)
    if r.exit_code != 0:
        return None
    try:
        return json.loads(r.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


def describe(sb: Sandbox) -> str:
    """Markdown bullet lines: isolation and network, installed Python packages, limits."""
    lim = sb.limits
    lines = [f"- Sandbox: {sb.kind} — {sb.isolation}."]
    if sb.kind == "unsafe-local":
        lines.append("- Commands run on the host itself, with its network. Stay inside the workspace.")
    else:
        lines.append("- There is no network: nothing outside the sandbox can be reached (no pip install, no "
                     "downloads, no model endpoints). Use what is installed.")
    info = probe(sb)
    if info is None:
        lines.append("- Python 3 is not available in this sandbox.")
    else:
        have = [f"{k} {v}" for k, v in info["packages"].items() if v]
        missing = [k for k, v in info["packages"].items() if not v]
        lines.append(f"- Installed: Python {info['python']} with {', '.join(have) or 'the standard library only'}."
                     + (f" Not installed: {', '.join(missing)}." if missing else ""))
    gpus = "GPUs passed through" if lim.gpus else "no GPU"
    lines.append(f"- Limits: {lim.memory_mb} MB memory, {lim.cpus:g} CPUs, {lim.pids} processes, {lim.disk_mb} MB "
                 f"of workspace disk, {lim.timeout_s:g} s per command at most, {gpus}. A process does not outlive "
                 "the command that started it.")
    if sb.kind == "local":
        lines.append(f"- /tmp is {lim.tmp_mb} MB of scratch space emptied after every command; keep files in the "
                     "workspace.")
    return "\n".join(lines)

"""Sandbox limits as configuration (scaffold policy, then start_run/CLI overrides), the run record, and the
environment the agent's system prompt states."""

from __future__ import annotations

import json
import os

import pytest

from agent.graph.runner import start_run
from agent.graph.spec import RunSpec
from agent.sandbox import local_available
from agent.sandbox.limits import check_spec, machine_defaults, resolve_limits
from agent.scaffold import load_scaffold
from common.errors import UserError
from tests.toy import scripted, toy_env, turn


def test_spec_checks_name_the_field():
    assert check_spec({"memory_mb": 2048, "cpus": "auto", "gpus": False}, "x") == {"memory_mb": 2048, "gpus": False}
    for bad, field in (({"memroy_mb": 1}, "memroy_mb"), ({"pids": -3}, "pids"), ({"pids": 2.5}, "pids"),
                       ({"cpus": True}, "cpus"), ({"gpus": "yes"}, "gpus")):
        with pytest.raises(UserError, match=field):
            check_spec(bad, "policy.yaml: sandbox")
    with pytest.raises(UserError, match="mapping"):
        check_spec([1, 2], "policy.yaml: sandbox")


def test_auto_fits_the_machine_and_values_are_clamped(tmp_path):
    auto = machine_defaults(tmp_path)
    lim = resolve_limits({}, tmp_path)
    assert lim.memory_mb == auto["memory_mb"] and lim.cpus == float(os.cpu_count()) and lim.pids == 1024
    assert 1024 <= lim.disk_mb <= 20480 and lim.timeout_s == 3600.0
    huge = resolve_limits({"memory_mb": 10**9, "cpus": 4096, "pids": 77, "command_timeout_s": 5}, tmp_path)
    assert huge.memory_mb < 10**9 and huge.cpus == float(os.cpu_count()) and huge.pids == 77
    assert huge.command_timeout(60) == 5 and huge.command_timeout(None) == 5 and huge.command_timeout(2) == 2


def test_scaffold_policy_section_is_validated(tmp_path):
    import shutil

    from common import paths

    root = tmp_path / "scaffold"
    shutil.copytree(paths.ROOT / "scaffold", root)
    assert load_scaffold(root).policy.sandbox == {"pids": 1024, "command_timeout_s": 3600.0}
    policy = root / "policy.yaml"
    policy.write_text(policy.read_text().replace("  pids: 1024 ", "  pids: lots "))
    with pytest.raises(UserError, match=r"policy.yaml: sandbox: field 'pids'"):
        load_scaffold(root)


@pytest.mark.skipif(not local_available()[0], reason=f"bwrap unusable: {local_available()[1]}")
def test_run_records_its_limits_and_states_the_real_environment(tmp_path, monkeypatch):
    for k, v in toy_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    policy = scripted([turn(("bash", {"command": "ulimit -f"}))])
    store = start_run(RunSpec("toy-binary", sandbox="local", run_id="lim",
                              sandbox_limits={"memory_mb": 700, "pids": 99, "disk_mb": 300, "command_timeout_s": 120}),
                      policy_impl=policy)
    meta = store.read_meta()
    assert meta["sandbox"] == "local" and "bubblewrap" in meta["sandbox_isolation"]
    assert meta["sandbox_limits"] | {"cpus": 0} == {"memory_mb": 700, "pids": 99, "disk_mb": 300,
                                                    "command_timeout_s": 120.0, "gpus": False, "cpus": 0, "jobs": 2}
    system = json.loads((store.root / "initial_state.json").read_text())["messages"][0]["content"]
    assert "$environment" not in system and "Sandbox: local — bubblewrap" in system
    assert "There is no network" in system and "700 MB memory" in system and "99 processes" in system
    assert "Installed: Python 3." in system and "torch" in system      # installed or not, it is stated
    out = next(e for e in store.read_events() if e["type"] == "tool_call")["output"]
    assert out.split()[0] == str(300 * 1024)                              # RLIMIT_FSIZE capped by the disk limit

"""Run store: append-only events with seq, truncation on resume, atomic meta, run listing."""

import json

import pytest

from agent.runstore import SCHEMA_VERSION, Emitter, RunStore, list_runs
from common.errors import UserError


def test_events_are_appended_with_schema_seq_and_step(tmp_path):
    store = RunStore.create("r1", base=tmp_path)
    em = Emitter(store, seq=0, step=0)
    em.emit("run_started", task="t")
    em.emit("model_turn", content="hi")
    evs = store.read_events()
    assert [e["seq"] for e in evs] == [0, 1] and em.seq == 2
    assert all(e["schema_version"] == SCHEMA_VERSION and "ts" in e and e["step"] == 0 for e in evs)
    assert evs[1]["content"] == "hi"
    with pytest.raises(ValueError):
        em.emit("not_a_type")


def test_truncate_drops_uncommitted_and_torn_lines(tmp_path):
    store = RunStore.create("r1", base=tmp_path)
    for i in range(5):
        store.append_event(i, i, "tool_call", name="bash")
    with open(store.events_path, "a") as f:
        f.write('{"seq": 5, "type": "tool_c')  # a write cut by kill -9
    assert len(store.read_events()) == 5
    dropped = store.truncate_events(3)
    assert dropped == 3
    assert [e["seq"] for e in store.read_events()] == [0, 1, 2]
    assert store.events_path.read_text().endswith("\n")


def test_meta_update_and_list(tmp_path):
    a = RunStore.create("a", base=tmp_path)
    a.write_meta({"run_id": "a", "created": "2026-01-01", "status": "running"})
    b = RunStore.create("b", base=tmp_path)
    b.write_meta({"run_id": "b", "created": "2026-01-02", "status": "finished"})
    a.update_meta(status="finished", score=0.5)
    assert json.loads(a.meta_path.read_text())["score"] == 0.5
    assert [m["run_id"] for m in list_runs(tmp_path)] == ["b", "a"]
    with pytest.raises(UserError, match="already exists"):
        RunStore.create("a", base=tmp_path)
    with pytest.raises(UserError, match="no run"):
        RunStore.open("zzz", base=tmp_path)
    with pytest.raises(UserError, match="invalid run id"):
        RunStore.create("../x", base=tmp_path)

"""The asynchronous rollout worker: versioned weight snapshots, publish, shutdown, errors, wall-clock scheduling."""

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from common.errors import UserError
from trainer.config import load_config
from trainer.envs import make_env
from trainer.model import MoETransformer, get_preset
from trainer.rollout_worker import RolloutWorker, RolloutWorkerError, weights_copy
from trainer.tokenizer import CharTokenizer
from trainer.train import LogProbs, train

TINY = Path(__file__).resolve().parent.parent / "trainer" / "configs" / "tiny_cpu.yaml"
WALL = ["run.device=cpu", "sft.steps=0", "rl.steps=3", "rl.prompts_per_step=2", "rl.group_size=2",
        "rl.minibatches=1", "run.eval_problems=0", "log.tensorboard=false", "rl.clock=wall", "rl.window=4",
        "rl.gen_slots=3"]


def _model(seed: int) -> MoETransformer:
    torch.manual_seed(seed)
    return MoETransformer(get_preset("tiny", vocab_size=CharTokenizer().vocab_size))


def _worker(model: MoETransformer, version: int = 0, slots: int = 2, cap: int = 4,
            device: str = "cpu") -> RolloutWorker:
    env, tok = make_env("sort_lognormal", 1), CharTokenizer()   # prompt lengths vary: the KV cache grows
    return RolloutWorker(model.cfg, env, tok, slots=slots, group_size=2, max_new=env.max_answer_chars() + 2,
                         temperature=1.0, cap=cap, state=weights_copy(model), version=version,
                         device=torch.device(device), seed=0)


def _teacher_forced(model: MoETransformer, prompt: list[int], completion: list[int]) -> torch.Tensor:
    seq = torch.tensor([prompt + completion], device=model.embed.device)
    with torch.no_grad():
        lp, _ = LogProbs(model.eval())(seq[:, :-1], seq[:, 1:])
    return lp[0, len(prompt) - 1:].cpu()


def _no_worker_thread() -> bool:
    return not any(t.name == "rollout-worker" for t in threading.enumerate())


def test_versions_at_submission_and_publish_switches_weights(device: str = "cpu"):
    a, b = _model(0).to(device), _model(1).to(device)
    w = _worker(a, version=0, device=device)
    seen: dict[int, list] = {0: [], 7: []}
    try:
        first, _ = w.take("fifo", 2, 2)
        assert [r.version for r in first] == [0, 0] and [r.rid for r in first] == [0, 1]
        seen[0] += first
        w.publish(weights_copy(b), 7)
        for _ in range(20):                            # groups submitted before the pick-up keep version 0
            batch, _ = w.take("fifo", 2, 2)
            for r in batch:
                seen[r.version].append(r)
            if len(seen[7]) >= 2:
                break
    finally:
        assert w.close(timeout=10)
    rids = [(r.rid, r.version) for v in (0, 7) for r in seen[v]]
    assert sorted(rids) == sorted(rids, key=lambda x: (x[1], x[0]))   # versions never go back with rid
    assert len(seen[7]) >= 2
    for version, model, other in ((0, a, b), (7, b, a)):
        for r in seen[version]:
            g = r.payload
            assert g.version == version and r.length == max(len(c) for c in g.completions)
            for comp, lp in zip(g.completions, g.old_logp, strict=True):
                ref = _teacher_forced(model, g.prompt, comp)
                assert torch.allclose(torch.tensor(lp), ref, atol=1e-4 if device == "cpu" else 1e-3)
                assert not torch.allclose(torch.tensor(lp), _teacher_forced(other, g.prompt, comp), atol=1e-4)


@pytest.mark.parametrize("cap", [2, 64])
def test_close_joins_quickly_while_generating_or_waiting(cap):
    w = _worker(_model(0), slots=3, cap=cap)       # cap 2: the pool fills and the thread waits for a take
    time.sleep(0.3)
    t0 = time.monotonic()
    assert w.close(timeout=5)
    assert time.monotonic() - t0 < 5 and _no_worker_thread()
    with pytest.raises(RolloutWorkerError, match="not running"):
        w.take("fifo", 1, 1)


def test_worker_exception_is_raised_in_the_trainer(tmp_path):
    # prompts + 250 new tokens do not fit the tiny model's 256 positions: the thread fails on its first group
    cfg = load_config(TINY, WALL + ["rl.scheduler=window", "rl.max_new_tokens=250"])
    with pytest.raises(RolloutWorkerError, match="rollout worker failed: ValueError: prompt .* max_seq_len"):
        train(cfg, tmp_path)
    assert _no_worker_thread()


def test_clock_config_errors_name_the_field():
    with pytest.raises(UserError, match="rl.clock must be one of virtual, wall"):
        load_config(TINY, ["rl.clock=real", "rl.scheduler=window"])
    with pytest.raises(UserError, match="rl.clock=wall needs an asynchronous rl.scheduler"):
        load_config(TINY, ["rl.clock=wall", "rl.scheduler=sync"])
    assert load_config(TINY, ["rl.scheduler=fifo"]).rl.clock == "virtual"


def _rl_lines(run_dir):
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r for r in lines if r.get("phase") == "rl"]


@pytest.mark.parametrize("policy", ["fifo", "shortest", "window"])
def test_wall_clock_run_writes_staleness_and_utilisation(tmp_path, policy):
    cfg = load_config(TINY, WALL + [f"rl.scheduler={policy}", "rl.steps=5", "rl.minibatches=2"])
    train(cfg, tmp_path)
    assert _no_worker_thread()
    rl = _rl_lines(tmp_path)
    assert len(rl) == 5
    assert rl[0]["sched_busy_s"] == 0 and 0 < rl[-1]["sched_utilisation"] <= 1   # busy = time between takes
    for r in rl:
        assert 0 <= r["sched_utilisation"] <= 1 and r["sched_wait_s"] >= 0 and r["sched_max_wait_s"] >= 0
        assert r["staleness_max"] == max(r["staleness_each"]) and len(r["sched_rids"]) == 2
        assert r["loss_nonfinite"] is False and r["is_max"] is not None
    assert rl[0]["staleness_each"] == [0, 0]                 # the first groups come from the initial weights
    assert max(r["staleness_max"] for r in rl[1:]) >= 1      # later ones were generated while the trainer moved on
    order = [rid for r in rl for rid in r["sched_rids"]]
    assert len(set(order)) == len(order)
    if policy == "fifo":
        assert order == list(range(len(order)))


def test_window_never_passes_the_oldest_untrained_by_w(tmp_path):
    w = 4
    cfg = load_config(TINY, WALL + ["rl.scheduler=window", f"rl.window={w}", "rl.steps=8", "rl.gen_slots=4",
                                    "env.name=sort_lognormal", "env.level=3"])
    train(cfg, tmp_path)
    done: set[int] = set()
    for r in _rl_lines(tmp_path):
        for rid in r["sched_rids"]:
            older_untrained = rid - sum(1 for d in done if d < rid)
            assert older_untrained < w      # each pick is among the W oldest not-yet-trained rollouts
        done.update(r["sched_rids"])
    assert max(done) >= 2 * w


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_worker_snapshots_and_wall_run(tmp_path):
    test_versions_at_submission_and_publish_switches_weights("cuda")
    cfg = load_config(TINY, WALL[1:] + ["run.device=cuda", "rl.scheduler=window", "rl.steps=4", "rl.minibatches=2"])
    train(cfg, tmp_path)
    rl = _rl_lines(tmp_path)
    assert len(rl) == 4 and 0 < rl[-1]["sched_utilisation"] <= 1 and _no_worker_thread()

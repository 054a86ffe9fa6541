"""torchrun with 2 CPU ranks (gloo): DDP vs FSDP2, prefix-tree packing under both, checkpoints across set-ups.

Each run is a real `Trainer.run()` under `torch.distributed.run` (tests/dist_worker.py), after which every rank
saves its full parameters, buffers, generation weights and (rank 0) the full optimizer state.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from common.errors import UserError
from trainer.config import load_config
from trainer.train import Trainer, train

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "trainer" / "configs" / "tiny_cpu.yaml"
WORKER = ROOT / "tests" / "dist_worker.py"
FAST = ["run.device=cpu", "sft.steps=2", "sft.batch_size=8", "rl.steps=2", "rl.prompts_per_step=2",
        "rl.group_size=4", "rl.minibatches=2", "rl.lr=0.01", "run.eval_problems=4", "log.ckpt_every=2",
        "log.tensorboard=false"]


def _torchrun(run_dir: Path, sets: list[str], *flags: str, config: Path = TINY) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    args = [a for s in sets for a in ("--set", s)]
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(WORKER), str(run_dir), str(config), *flags, *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]


def _ranks(run_dir: Path) -> list[dict]:
    return [torch.load(run_dir / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


def _steps(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if '"phase"' in x]


def _check_run(run_dir: Path, n_steps: int) -> dict:
    """Both ranks hold the same full weights and router bias, generate with them; metrics finite. Returns rank 0."""
    r0, r1 = _ranks(run_dir)
    assert r0["world"] == r1["world"] == 2
    for k in r0["params"]:
        assert torch.equal(r0["params"][k], r1["params"][k]), k
    for k in r0["buffers"]:
        assert torch.equal(r0["buffers"][k], r1["buffers"][k]), k
    for r in (r0, r1):
        full = {**r["params"], **r["buffers"]}
        assert all(torch.equal(v, full[k]) for k, v in r["gen"].items())   # generation uses the current weights
    steps = _steps(run_dir)
    assert [s["step"] for s in steps] == list(range(n_steps))
    for s in steps:
        assert s["loss"] is not None and math.isfinite(s["loss"]) and math.isfinite(s["grad_norm"]), s
    rl = [s for s in steps if s["phase"] == "rl"]
    assert all(s["reward_mean"] == pytest.approx(0.25) and s["grad_norm"] > 0 for s in rl)
    assert any(b.abs().max() > 0 for b in r0["buffers"].values())                # the aux-free bias moved
    return r0


def _assert_close(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=atol, rtol=1e-4), (k, (a[k] - b[k]).abs().max())


def test_parallel_mode_is_validated():
    assert load_config(TINY).run.parallel == "ddp"
    assert load_config(TINY, ["run.parallel=fsdp2"]).run.parallel == "fsdp2"
    with pytest.raises(UserError, match="run.parallel must be one of ddp, fsdp2"):
        load_config(TINY, ["run.parallel=zero3"])


@pytest.mark.slow
def test_fsdp2_equals_ddp_and_its_checkpoint_resumes_in_one_process(tmp_path):
    ddp, fsdp = tmp_path / "ddp", tmp_path / "fsdp2"
    _torchrun(ddp, FAST + ["run.parallel=ddp"], "--reward-first")
    _torchrun(fsdp, FAST + ["run.parallel=fsdp2"], "--reward-first")
    a, b = _check_run(ddp, 4), _check_run(fsdp, 4)
    assert not a["sharded"] and b["sharded"]
    _assert_close(a["params"], b["params"])                  # same init, same per-rank data: same training
    _assert_close(a["buffers"], b["buffers"])
    for x, y in zip(_steps(ddp), _steps(fsdp), strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-4, abs=1e-6)
    # the FSDP2 checkpoint is a full one-process checkpoint: same keys and tensors, optimizer keyed by index
    ckpt = torch.load(fsdp / "ckpt" / "last.pt", weights_only=False)
    assert ckpt["step"] == 4 and len(ckpt["rank_rng"]) == 2
    full = {**b["params"], **b["buffers"]}
    assert set(ckpt["model"]) == set(full) and all(torch.equal(ckpt["model"][k], full[k]) for k in full)
    assert sorted(ckpt["optimizers"]["rl"]["state"]) == list(range(len(b["params"])))
    # ... and resumes in one process with the same parameters and optimizer state, then trains on
    tr = Trainer(load_config(fsdp / "config.yaml", ["rl.steps=3"]), fsdp, resume=True)
    assert tr.world == 1 and not tr.sharded
    for k, v in tr.model.state_dict().items():
        assert torch.equal(v, full[k]), k
    for i, st in tr.optimizers["rl"].state_dict()["state"].items():
        for name, v in st.items():
            assert torch.equal(v, ckpt["optimizers"]["rl"]["state"][i][name]), (i, name)
    tr.run()
    tr.close()
    assert _steps(fsdp)[-1]["step"] == 4 and torch.load(fsdp / "ckpt" / "last.pt", weights_only=False)["step"] == 5


def test_one_process_checkpoint_resumes_under_fsdp2(tmp_path):
    train(load_config(TINY, FAST), tmp_path)                                        # one process, 4 steps
    ckpt = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=False)
    _torchrun(tmp_path, ["run.parallel=fsdp2"], "--resume", config=tmp_path / "config.yaml")   # nothing left to do
    for r in _ranks(tmp_path):
        assert r["sharded"] and r["step"] == 4
        full = {**r["params"], **r["buffers"]}
        assert all(torch.equal(ckpt["model"][k], full[k]) for k in full)
        assert all(torch.equal(v, full[k]) for k, v in r["gen"].items())
    opt = _ranks(tmp_path)[0]["optimizers"]["rl"]               # gathered back from the shards
    assert opt["param_groups"] == ckpt["optimizers"]["rl"]["param_groups"]
    for i, st in ckpt["optimizers"]["rl"]["state"].items():
        for name, v in st.items():
            assert torch.equal(opt["state"][i][name], v), (i, name)


@pytest.mark.slow
def test_tree_packing_under_ddp_and_fsdp2(tmp_path):
    # the aux-free bias update included: the balance statistics weight a packed prompt token by its G copies and
    # never count padding, so tree and flat runs are the same computation, routing included
    sets = FAST
    runs = {f"{mode}-{pack}": tmp_path / f"{mode}-{pack}" for mode, pack in [("ddp", "tree"), ("fsdp2", "tree"),
                                                                          ("ddp", "flat")]}
    for name, run_dir in runs.items():
        mode, pack = name.split("-")
        _torchrun(run_dir, sets + [f"run.parallel={mode}", f"rl.pack={pack}"], "--reward-first")
    got = {name: _check_run(run_dir, 4) for name, run_dir in runs.items()}
    _assert_close(got["ddp-tree"]["params"], got["fsdp2-tree"]["params"])
    _assert_close(got["ddp-tree"]["params"], got["ddp-flat"]["params"])     # packing is exact under DDP too


@pytest.mark.slow
def test_fsdp2_resume_continues_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    _torchrun(straight, FAST + ["run.parallel=fsdp2"], "--reward-first")
    _torchrun(split, FAST + ["run.parallel=fsdp2", "rl.steps=0"], "--reward-first")          # stops after SFT
    _torchrun(split, ["rl.steps=2"], "--reward-first", "--resume", config=split / "config.yaml")
    a, b = _check_run(straight, 4), _ranks(split)[0]
    for k in a["params"]:
        assert torch.equal(a["params"][k], b["params"][k]), k     # every rank resumed its own RNG streams
    ra = {s["step"]: s["loss"] for s in _steps(straight)}
    assert ra == {s["step"]: s["loss"] for s in _steps(split)}

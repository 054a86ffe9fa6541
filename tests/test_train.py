"""The training loop on CPU: tiny runs, metrics/TensorBoard/checkpoints, exact resume, NaN stop, config errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from common.errors import UserError
from trainer.config import load_config
from trainer.tokenizer import CharTokenizer
from trainer.train import Trainer, TrainingStopped, train

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "trainer" / "configs" / "tiny_cpu.yaml"
FAST = ["run.device=cpu", "sft.steps=2", "sft.batch_size=8", "rl.steps=2", "rl.prompts_per_step=2",
        "rl.group_size=2", "rl.minibatches=1", "run.eval_problems=4", "log.ckpt_every=2", "log.tensorboard=false"]


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _steps(run_dir: Path) -> list[dict]:
    return [r for r in _lines(run_dir) if "phase" in r]


def test_tiny_run_writes_metrics_tensorboard_and_checkpoint(tmp_path):
    cfg = load_config(TINY, FAST + ["log.tensorboard=true"])
    last = train(cfg, tmp_path)
    steps = _steps(tmp_path)
    assert [r["step"] for r in steps] == [0, 1, 2, 3] and last["step"] == 3
    assert [r["phase"] for r in steps] == ["sft", "sft", "rl", "rl"]
    rl = steps[-1]
    for key in ["loss", "reward_mean", "reward_std", "kl_rollout", "entropy", "is_mean", "is_min", "is_max",
                "clip_frac", "grad_norm", "lr", "tokens_per_s", "model_tflop", "expert_load", "loss_nonfinite",
                "grad_nonfinite"]:
        assert key in rl, key
    assert rl["loss_nonfinite"] is False and rl["grad_norm"] is not None and rl["grad_norm"] >= 0
    assert 0.0 <= rl["reward_mean"] <= 1.0 and rl["entropy"] > 0
    assert len(rl["expert_load"]) == 2 and len(rl["expert_load"][0]) == 8
    assert abs(sum(rl["expert_load"][0]) - 1.0) < 1e-3
    assert any(r.get("event") == "eval" for r in _lines(tmp_path))
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    state = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=False)
    assert state["step"] == 4 and state["version"] == 2 and state["optimizers"]["rl"]["state"]
    assert (tmp_path / "config.yaml").exists() and "step 3 [rl]" in (tmp_path / "train.log").read_text()


def test_resume_continues_exactly(tmp_path):
    straight, split = tmp_path / "a", tmp_path / "b"
    train(load_config(TINY, FAST), straight)
    train(load_config(TINY, FAST + ["rl.steps=0"]), split)                       # stops after SFT
    with pytest.raises(UserError, match="already holds a run"):
        train(load_config(TINY, FAST), split)                                    # no silent overwrite
    train(load_config(split / "config.yaml", ["rl.steps=2"]), split, resume=True)
    a = torch.load(straight / "ckpt" / "last.pt", weights_only=False)
    b = torch.load(split / "ckpt" / "last.pt", weights_only=False)
    assert a["step"] == b["step"] == 4
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    lines = _lines(split)
    assert {"event": "resume", "from_step": 2} in lines
    ra = {r["step"]: (r["loss"], r.get("reward_mean"), r.get("entropy")) for r in _steps(straight)}
    rb = {r["step"]: (r["loss"], r.get("reward_mean"), r.get("entropy")) for r in _steps(split)}
    assert ra == rb


def _fixed_rewards(tr: Trainer, rewards, seen: list | None = None) -> None:
    """Replace the environment's rewards of every sampled group by `rewards(group)` (real rollouts otherwise)."""
    sample = tr.sampler.sample

    def rewarded(model, n, version):
        groups = sample(model, n, version)
        for g in groups:
            g.rewards = rewards(g)
        if seen is not None:
            seen.extend(groups)
        return groups

    tr.sampler.sample = rewarded


@pytest.mark.parametrize("loss", ["cispo", "ppo", "grpo"])
def test_rl_step_moves_policy_towards_rewarded_completion(tmp_path, loss):
    cfg = load_config(TINY, FAST + [f"rl.loss={loss}", "rl.lr=0.01", "optim.warmup_steps=0", "rl.prompts_per_step=1",
                                    "rl.group_size=4"])
    tr = Trainer(cfg, tmp_path)
    seen = []
    _fixed_rewards(tr, lambda g: [1.0] + [0.0] * (len(g.completions) - 1), seen)   # completion 0 is right
    rec = tr.rl_step(0)
    g = seen[0]
    with torch.no_grad():
        after, _, _ = tr.logprobs([g])
    before = torch.tensor(g.old_logp[0]).sum()
    tr.close()
    assert rec["grad_norm"] > 0 and rec["reward_mean"] == pytest.approx(0.25)
    assert after[0].sum() > before + 0.05          # the rewarded completion became more likely


def test_rl_raises_the_reward_of_a_rewarded_behaviour(tmp_path):
    """From an untrained model, RL steps make a rewarded first token (here '7') much more frequent."""
    seven = CharTokenizer().stoi["7"]
    cfg = load_config(TINY, ["run.device=cpu", "sft.steps=0", "rl.steps=9", "rl.prompts_per_step=8",
                             "rl.group_size=8", "rl.lr=0.03", "optim.warmup_steps=0", "run.eval_problems=0",
                             "log.tensorboard=false", "model.bias_update_rate=0"])
    tr = Trainer(cfg, tmp_path)
    _fixed_rewards(tr, lambda g: [float(bool(c) and c[0] == seven) for c in g.completions])
    rewards = [tr.train_step()["reward_mean"] for _ in range(9)]
    tr.close()
    assert sum(rewards[:3]) / 3 < 0.1 and sum(rewards[-2:]) / 2 > 0.4, rewards


def test_rl_has_its_own_optimizer_state(tmp_path):
    """An RL step with zero advantages leaves the weights alone: SFT's AdamW momentum does not carry into RL."""
    cfg = load_config(TINY, FAST + ["sft.steps=3", "model.bias_update_rate=0", "optim.warmup_steps=0"])
    tr = Trainer(cfg, tmp_path)
    _fixed_rewards(tr, lambda g: [1.0] * len(g.completions))       # every completion right: all advantages 0
    for _ in range(3):
        tr.train_step()
    assert tr.optimizers["sft"].state and not tr.optimizers["rl"].state
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    rec = tr.train_step()
    tr.close()
    assert rec["phase"] == "rl" and rec["grad_norm"] == 0
    for k, v in tr.model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.slow   # the whole recipe: about 30 s on 2 loaded cores
def test_tiny_cpu_recipe_reward_rises(tmp_path):
    """The shipped tiny CPU recipe learns: greedy accuracy and sampled reward rise during RL."""
    train(load_config(TINY, ["log.tensorboard=false"]), tmp_path)
    evals = {r["after"]: r["greedy_accuracy"] for r in _lines(tmp_path) if r.get("event") == "eval"}
    rewards = [r["reward_mean"] for r in _steps(tmp_path) if r["phase"] == "rl"]
    half = len(rewards) // 2
    assert evals["sft"] > 0.3                                       # SFT gives RL something to work with
    assert evals["rl"] >= evals["sft"] + 0.05, evals
    assert sum(rewards[half:]) / (len(rewards) - half) > sum(rewards[:half]) / half, rewards


def test_resume_without_checkpoint_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="nothing to resume"):
        train(load_config(TINY, FAST), tmp_path / "new", resume=True)


def test_resume_before_the_first_checkpoint_starts_over(tmp_path):
    """A run killed before its first checkpoint (config and metrics written, no ckpt) resumes from step 0."""
    train(load_config(TINY, FAST + ["rl.steps=0", "log.ckpt_every=100"]), tmp_path)
    (tmp_path / "ckpt" / "last.pt").unlink()
    train(load_config(tmp_path / "config.yaml"), tmp_path, resume=True)
    lines = _lines(tmp_path)
    assert {"event": "resume", "from_step": 0} in lines and (tmp_path / "ckpt" / "last.pt").exists()
    assert "starting it again from step 0" in (tmp_path / "train.log").read_text()


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = load_config(TINY, FAST + ["debug.nan_at_step=3"])
    with pytest.raises(TrainingStopped, match="non-finite loss"):
        train(cfg, tmp_path)
    last = _lines(tmp_path)[-1]
    assert last["step"] == 3 and last["loss_nonfinite"] is True and last["loss"] is None
    assert torch.load(tmp_path / "ckpt" / "last.pt", weights_only=False)["step"] == 2
    log = (tmp_path / "train.log").read_text()
    assert "non-finite loss" in log and "last good checkpoint" in log and "(step 2)" in log


def test_config_errors_name_the_field():
    cases = {"rl.group_size=one": "rl.group_size", "rl.loss=reinforce": "rl.loss", "rl.nope=1": "rl.nope",
             "optim.grad_clip=[1]": "optim.grad_clip", "model.n_kv_heads=3": "n_heads", "env.name=chess": "env.name",
             "rl.window=1": "rl.window", "rl.minibatches=3": "rl.minibatches", "badsection.x=1": "badsection"}
    for override, field in cases.items():
        with pytest.raises(UserError, match=field):
            load_config(TINY, [override, "rl.scheduler=window"] if override == "rl.window=1" else [override])
    with pytest.raises(UserError, match="not found"):
        load_config("/nonexistent.yaml")
    assert load_config(TINY, ["rl.lr=1e-4"]).rl.lr == pytest.approx(1e-4)


def test_model_that_cannot_fit_says_so(tmp_path):
    cfg = load_config(TINY, FAST + ["model.preset=1b", "model.n_experts=16384", "model.top_k=8"])
    with pytest.raises(UserError, match="does not fit"):
        Trainer(cfg, tmp_path)


def test_prefix_tree_and_flat_logprobs_agree(tmp_path):
    cfg = load_config(TINY, FAST + ["rl.group_size=4"])
    tr = Trainer(cfg, tmp_path)
    groups = tr.sampler.sample(tr.model, 3, 0)
    flat, _, fb = tr.logprobs(groups)
    tr.cfg.rl.pack = "tree"
    tree, _, tb = tr.logprobs(groups)
    tr.close()
    assert torch.allclose(flat, tree, atol=1e-5) and torch.equal(fb.mask, tb.mask)
    assert tb.n_tokens < fb.n_tokens and tb.n_scored == fb.n_scored       # merged: fewer tokens, same targets
    # the rollout log-probs from generate match the training forward (fp32, on-policy: IS weight 1)
    old = torch.zeros_like(flat)
    for b, row in enumerate(lp for g in groups for lp in g.old_logp):
        old[b, :len(row)] = torch.tensor(row)
    assert torch.allclose(flat, old, atol=1e-4)


def test_async_window_scheduler_in_the_loop(tmp_path):
    cfg = load_config(TINY, FAST + ["rl.scheduler=window", "rl.window=4", "rl.gen_slots=3", "sft.steps=0"])
    train(cfg, tmp_path)
    rl = _steps(tmp_path)
    assert len(rl) == 2 and all(0 < r["sched_utilisation"] <= 1 for r in rl)
    assert rl[-1]["staleness_mean"] >= 0 and "staleness_max" in rl[-1]


def test_cli_train_resume_and_errors(tmp_path):
    env = {**os.environ, "EVOFORGE_RUNS": str(tmp_path)}
    cli = [sys.executable, "-m", "agent.cli", "train"]
    sets = [a for s in FAST for a in ("--set", s)]
    ok = subprocess.run(cli + [str(TINY), "--run-id", "t1", *sets, "--set", "rl.steps=1"], env=env, cwd=ROOT,
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "t1" / "metrics.jsonl").exists() and "done:" in ok.stdout
    again = subprocess.run(cli + ["--run-id", "t1", "--resume", "--set", "rl.steps=2"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert [r["step"] for r in _steps(tmp_path / "t1")] == [0, 1, 2, 3]
    bad = subprocess.run(cli + [str(TINY), "--set", "rl.group_size=x"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "error: config: rl.group_size" in bad.stderr
    nan = subprocess.run(cli + [str(TINY), "--run-id", "t2", *sets, "--set", "debug.nan_at_step=1"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert nan.returncode == 1 and "non-finite loss" in nan.stderr


@pytest.mark.slow
def test_torchrun_ddp_two_cpu_ranks(tmp_path):
    env = {**os.environ, "EVOFORGE_RUNS": str(tmp_path), "OMP_NUM_THREADS": "1"}
    sets = [a for s in FAST for a in ("--set", s)]
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "agent.cli", "train", str(TINY), "--run-id", "ddp", *sets], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    steps = _steps(tmp_path / "ddp")
    assert [r["step"] for r in steps] == [0, 1, 2, 3]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("pack", ["flat", "tree"])
def test_cuda_bf16_run_and_tree_matches_flat(tmp_path, pack):
    heads = ["model.n_heads=2", "model.n_kv_heads=1"]          # head_dim 16: FlexAttention's minimum
    cfg = load_config(TINY, FAST[1:] + heads + ["run.device=cuda", "model.dtype=bfloat16", f"rl.pack={pack}"])
    last = train(cfg, tmp_path / "run")
    assert last["phase"] == "rl" and last["loss_nonfinite"] is False and last["mfu"] > 0
    fp32 = load_config(TINY, FAST[1:] + heads + ["run.device=cuda", "rl.group_size=4"])
    tr = Trainer(fp32, tmp_path / "cmp")
    groups = tr.sampler.sample(tr.model, 3, 0)
    flat, _, _ = tr.logprobs(groups)
    tr.cfg.rl.pack = "tree"                    # FlexAttention BlockMask on CUDA
    tree, _, _ = tr.logprobs(groups)
    tr.close()
    assert torch.allclose(flat, tree, atol=1e-4)


@pytest.mark.slow   # Inductor compiles the blocks' forward and backward on CPU: about 90 s on 2 cores
@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="torch.compile's CPU backend needs a C compiler")
def test_compiled_blocks_train_like_eager(tmp_path):
    """run.compile=true trains through torch.compile'd blocks and matches the eager run step for step."""
    eager, comp = tmp_path / "eager", tmp_path / "compiled"
    train(load_config(TINY, FAST), eager)
    train(load_config(TINY, FAST + ["run.compile=true"]), comp)
    a, b = _steps(eager), _steps(comp)
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-3, abs=1e-5)
    wa = torch.load(eager / "ckpt" / "last.pt", weights_only=False)["model"]
    wb = torch.load(comp / "ckpt" / "last.pt", weights_only=False)["model"]
    assert wa.keys() == wb.keys()                                   # compiled wrappers add no state
    assert max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa) < 1e-3


def test_compile_blocks_used_for_training_not_generation():
    """compile_blocks routes cache-free forwards through the compiled wrappers and KV-cache decoding around them."""
    from trainer.model import MoETransformer, get_preset

    m = MoETransformer(get_preset("tiny"))
    calls = []
    m.compile_blocks(backend=lambda gm, inputs: (calls.append(1), gm.forward)[1])
    tok = torch.randint(0, 64, (2, 8))
    m(tok)
    assert calls, "the training forward did not go through torch.compile"
    n = len(calls)
    m.generate([[1, 2, 3]], max_new_tokens=3)
    assert len(calls) == n                                            # generation stayed eager (no new graphs)
    assert sum(p.numel() for p in m.parameters()) == m.num_params()

"""The rl_runs task family: broken or weak set-ups of the bundled trainer; the submission is a config, graded by
retraining it outside the sandbox (tasks/rl_runs/tasks.yaml, docs/RL_RUNS.md)."""

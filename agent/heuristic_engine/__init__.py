"""The heuristic engineer's engine: runs inside the sandbox on its Python stack (numpy, pandas, scipy,
scikit-learn, Pillow), reading only the public data, task.json and recipes.json in the workspace.

The heuristic policy writes this package into the workspace and runs `python engine.py <command>`.
Modules: schema (the recipe format), layout (what the data poses), features_* (feature blocks per input),
models (model families), metrics (competition metrics), cv (one recipe cross-validated), sequence (text
normalisation), ensemble (blending), candidates (the CV-scored candidates), cli (the commands).
"""

import os

# Threads that sleep instead of spinning while they wait: scikit-learn's OpenMP code (gradient boosting) runs
# 10-30x slower with spinning threads on CPUs shared with other work. Set before numpy/sklearn are loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

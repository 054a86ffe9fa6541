"""Build a recipe's feature matrix (train rows, then test rows) from its blocks, cached in the workspace."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from scipy import sparse

from . import features_audio, features_image, features_pixels, features_table
from .schema import FEATURES

BLOCKS = {"table": features_table.BLOCKS, "image": features_image.BLOCKS, "pixels": features_pixels.BLOCKS,
          "audio": features_audio.BLOCKS}
CACHED_INPUTS = ("image", "audio", "pixels")


def inputs_missing(problem, blocks: list[dict]) -> str | None:
    """Why these blocks cannot be computed for the problem (None when they can)."""
    have = problem.modality
    for b in blocks:
        need = FEATURES[b["kind"]][0]
        if need == "table" and (problem.train is None or problem.test is None):
            return f"feature {b['kind']} reads tables, and this problem's inputs are {have}"
        if need != "table" and need != have:
            return f"feature {b['kind']} reads {need} inputs, and this problem's inputs are {have}"
    return None


def _key(problem, block: dict, flip: str) -> str:
    files = (problem.train_files or [])[:3] + (problem.test_files or [])[:3]
    raw = json.dumps([block, flip, problem.layout, len(problem.y), len(problem.test_keys), files], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _block(problem, block: dict, cache: Path | None, flip: str):
    need = FEATURES[block["kind"]][0]
    fn = BLOCKS[need][block["kind"]]
    params = {k: v for k, v in block.items() if k != "kind"}
    if need != "image":
        flip = ""
    if cache is None or need not in CACHED_INPUTS:
        return fn(problem, params, flip) if need == "image" else fn(problem, params)
    path = cache / f"{block['kind']}-{_key(problem, block, flip)}.npy"
    if path.is_file():
        return np.load(path)
    X = fn(problem, params, flip) if need == "image" else fn(problem, params)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
    np.save(tmp, np.asarray(X, dtype=np.float32))
    os.replace(tmp, path)
    return X


def build(problem, blocks: list[dict], cache: Path | None = None, flip: str = "") -> np.ndarray | sparse.csr_matrix:
    """The stacked features of all blocks: (train rows + test rows, columns), sparse when any block is."""
    mats = []
    for block in blocks:
        X = _block(problem, block, cache, flip)
        if X is not None and X.shape[1] > 0:
            mats.append(X)
    if not mats:
        raise ValueError("the recipe's feature blocks found no usable input columns")
    if any(sparse.issparse(m) for m in mats):
        return sparse.hstack([m if sparse.issparse(m) else sparse.csr_matrix(m) for m in mats]).tocsr()
    return np.hstack([np.asarray(m, dtype=np.float32) for m in mats])

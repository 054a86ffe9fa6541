"""Image-to-image tasks as one row per pixel: the pixel's neighbourhood and local/global statistics as features."""

from __future__ import annotations

import numpy as np


def _grey(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def materialise(problem) -> None:
    """Fill in the per-pixel targets, CV groups (one per image) and the test pixel ids."""
    ex = problem.extra
    ex["train_images"] = [_grey(p) for p in ex["train_inputs"]]
    targets = [_grey(p) for p in ex["train_targets"]]
    ex["test_images"] = [_grey(p) for p in ex["test_inputs"]]
    problem.y = np.concatenate([t.reshape(-1) for t in targets]).reshape(-1, 1).astype(np.float64)
    problem.groups = np.concatenate([np.full(t.size, i) for i, t in enumerate(targets)])
    keys = []
    for name, img in zip(ex["test_names"], ex["test_images"], strict=True):
        h, w = img.shape
        r, c = np.meshgrid(np.arange(1, h + 1), np.arange(1, w + 1), indexing="ij")
        keys.extend(f"{name}_{a}_{b}" for a, b in zip(r.ravel(), c.ravel(), strict=True))
    problem.test_keys = keys


def _per_image(problem, fn) -> np.ndarray:
    imgs = problem.extra["train_images"] + problem.extra["test_images"]
    return np.vstack([fn(img).reshape(img.size, -1) for img in imgs]).astype(np.float32)


def window(problem, p: dict) -> np.ndarray:
    """The (2r+1)^2 grey values around each pixel (edges repeated)."""
    r = p["radius"]

    def fn(img):
        pad = np.pad(img, r, mode="edge")
        h, w = img.shape
        return np.stack([pad[dy:dy + h, dx:dx + w] for dy in range(2 * r + 1) for dx in range(2 * r + 1)], axis=-1)

    return _per_image(problem, fn)


def local_stats(problem, p: dict) -> np.ndarray:
    """Mean, median, minimum and maximum over square windows of each radius, and the pixel minus them."""
    from scipy import ndimage

    def fn(img):
        out = []
        for r in p["radii"]:
            size = 2 * r + 1
            stats = [ndimage.uniform_filter(img, size, mode="nearest"), ndimage.median_filter(img, size, mode="nearest"),
                     ndimage.minimum_filter(img, size, mode="nearest"), ndimage.maximum_filter(img, size, mode="nearest")]
            out += stats + [img - stats[0], img - stats[1]]
        return np.stack(out, axis=-1)

    return _per_image(problem, fn)


def global_stats(problem, p: dict) -> np.ndarray:
    """The whole image's mean, spread and quantiles, repeated for each of its pixels."""

    def fn(img):
        q = np.quantile(img, [0.05, 0.25, 0.5, 0.75, 0.95])
        return np.broadcast_to(np.concatenate([[img.mean(), img.std()], q]), img.shape + (7,))

    return _per_image(problem, fn)


BLOCKS = {"window": window, "local_stats": local_stats, "global_stats": global_stats}

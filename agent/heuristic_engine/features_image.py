"""Feature blocks read from image files: resized pixels, colour histograms, gradient histograms, texture, stats.

Every block returns one row per image for the train files then the test files, computed on all images at
once with numpy. `flip` gives the features of the mirrored images (for augmentation and test-time averaging).
"""

from __future__ import annotations

import numpy as np

_CACHE: dict[tuple, np.ndarray] = {}


def load(paths: list[str], size: int, mode: str = "RGB", flip: str = "") -> np.ndarray:
    """Images resized to size x size as float32 in [0, 1]: (n, size, size, channels)."""
    from PIL import Image

    key = (tuple(paths), size, mode, flip)
    if key not in _CACHE:
        out = np.empty((len(paths), size, size, 3 if mode in ("RGB", "HSV") else 1), dtype=np.float32)
        for i, p in enumerate(paths):
            with Image.open(p) as im:
                im = im.convert("RGB").resize((size, size), Image.BILINEAR)
                if mode != "RGB":
                    im = im.convert(mode)
                a = np.asarray(im, dtype=np.float32) / 255.0
            out[i] = a.reshape(size, size, -1)
        if flip == "hflip":
            out = out[:, :, ::-1]
        elif flip == "vflip":
            out = out[:, ::-1]
        _CACHE[key] = np.ascontiguousarray(out)
    return _CACHE[key]


def _files(problem) -> list[str]:
    return list(problem.train_files) + list(problem.test_files)


def _native_size(problem) -> int:
    from PIL import Image

    with Image.open(problem.train_files[0]) as im:
        return max(im.size)


def _pca(X: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    if not n or n >= min(X.shape):
        return X
    from sklearn.decomposition import PCA

    return PCA(n_components=n, random_state=seed, svd_solver="randomized").fit_transform(X).astype(np.float32)


def pixels(problem, p: dict, flip: str = "") -> np.ndarray:
    """The image resized to size x size (grey or RGB), flattened; optionally reduced by PCA."""
    imgs = load(_files(problem), p["size"], "L" if p["gray"] else "RGB", flip)
    X = imgs.reshape(len(imgs), -1)
    return _pca(X - X.mean(axis=0), p["pca"])


def color_hist(problem, p: dict, flip: str = "") -> np.ndarray:
    """Per-channel histograms (RGB or HSV), normalised to sum to one per channel."""
    size = min(_native_size(problem), 64)
    imgs = load(_files(problem), size, "HSV" if p["space"] == "hsv" else "RGB", flip)
    bins = np.minimum((imgs * p["bins"]).astype(np.int32), p["bins"] - 1)
    n, c = len(imgs), imgs.shape[-1]
    out = np.zeros((n, c, p["bins"]), dtype=np.float32)
    for ch in range(c):
        flat = bins[..., ch].reshape(n, -1)
        for b in range(p["bins"]):
            out[:, ch, b] = (flat == b).mean(axis=1)
    return out.reshape(n, -1)


def _gray(problem, size: int, flip: str) -> np.ndarray:
    return load(_files(problem), size, "L", flip)[..., 0]


def hog(problem, p: dict, flip: str = "") -> np.ndarray:
    """Histograms of gradient orientations over a cells x cells grid (HOG-like, L2-normalised per cell)."""
    g = _gray(problem, p["size"], flip).astype(np.float64)
    gy, gx = np.gradient(g, axis=(1, 2))
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    k = p["orientations"]
    idx = np.minimum((ang / np.pi * k).astype(np.int32), k - 1)
    n, s = g.shape[0], g.shape[1]
    cells = p["cells"]
    edges = np.linspace(0, s, cells + 1).astype(int)
    out = np.zeros((n, cells, cells, k))
    for i in range(cells):
        for j in range(cells):
            m = mag[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].reshape(n, -1)
            o = idx[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].reshape(n, -1)
            for b in range(k):
                out[:, i, j, b] = (m * (o == b)).sum(axis=1)
    out /= np.sqrt((out ** 2).sum(axis=-1, keepdims=True)) + 1e-6
    return out.reshape(n, -1).astype(np.float32)


def img_stats(problem, p: dict, flip: str = "") -> np.ndarray:
    """Mean, spread and quantiles of each channel (and brightness) over a grid of the (centre-cropped) image."""
    size = min(_native_size(problem), 64)
    imgs = load(_files(problem), size, "RGB", flip)
    if p["crop"] < 1.0:
        m = int(round(size * (1 - p["crop"]) / 2))
        imgs = imgs[:, m:size - m, m:size - m] if size - 2 * m >= 2 else imgs
    imgs = np.concatenate([imgs, imgs.mean(axis=-1, keepdims=True)], axis=-1)
    n, s = imgs.shape[0], imgs.shape[1]
    edges = np.linspace(0, s, p["grid"] + 1).astype(int)
    feats = []
    for i in range(p["grid"]):
        for j in range(p["grid"]):
            cell = imgs[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].reshape(n, -1, imgs.shape[-1])
            feats += [cell.mean(axis=1), cell.std(axis=1), *np.quantile(cell, [0.1, 0.5, 0.9], axis=1)]
    return np.hstack(feats).astype(np.float32)


def lbp(problem, p: dict, flip: str = "") -> np.ndarray:
    """Local binary patterns (8 neighbours) of the grey image: a 256-bin histogram per grid cell."""
    g = _gray(problem, p["size"], flip)
    c = g[:, 1:-1, 1:-1]
    code = np.zeros(c.shape, dtype=np.int32)
    shifts = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
    h, w = g.shape[1], g.shape[2]
    for bit, (dy, dx) in enumerate(shifts):
        nb = g[:, 1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx]
        code |= (nb >= c).astype(np.int32) << bit
    n, s = code.shape[0], code.shape[1]
    edges = np.linspace(0, s, p["grid"] + 1).astype(int)
    feats = []
    for i in range(p["grid"]):
        for j in range(p["grid"]):
            cell = code[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].reshape(n, -1)
            hist = np.zeros((n, 256), dtype=np.float32)
            np.add.at(hist, (np.repeat(np.arange(n), cell.shape[1]), cell.ravel()), 1.0)
            feats.append(hist / cell.shape[1])
    return np.sqrt(np.hstack(feats))


BLOCKS = {"pixels": pixels, "color_hist": color_hist, "hog": hog, "img_stats": img_stats, "lbp": lbp}

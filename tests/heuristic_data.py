"""Tiny public data sets, one per layout the heuristic engine reads, with answers to check predictions against.

Each writer fills a `public` folder like a prepared competition and returns (task spec, answers frame).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image


def _spec(id_column: str, columns: list[tuple[str, str]], metric: str, modality: str, labels=None,
          sample: str = "sample_submission.csv") -> dict:
    return {"id_column": id_column, "columns": [{"name": n, "kind": k} for n, k in columns], "labels": labels,
            "sample_submission": sample, "metric": metric, "modality": modality}


def _split(frame: pd.DataFrame, n_test: int):
    return frame.iloc[:-n_test].reset_index(drop=True), frame.iloc[-n_test:].reset_index(drop=True)


def tabular(public: Path, n: int = 160, seed: int = 0):
    """Binary target from numbers, a category and a date (AUC)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    cat = rng.choice(["a", "b", "c"], n)
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    logit = 2 * x[:, 0] - x[:, 1] + (cat == "a") * 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    f = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "x1": x[:, 0], "x2": x[:, 1], "cat": cat,
                      "when": day.strftime("%Y-%m-%d %H:%M:%S"), "target": y})
    train, test = _split(f, 40)
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns="target").to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "target": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    return _spec("id", [("target", "probability")], "auc", "tabular"), test[["id", "target"]]


def text(public: Path, n: int = 150, seed: int = 0):
    """Three authors with their own words (multi-class log-loss), the label in one column."""
    rng = np.random.default_rng(seed)
    vocab = {"A": ["apple", "arch", "amber"], "B": ["bird", "bone", "brisk"], "C": ["cave", "cold", "coral"]}
    common = ["the", "of", "and", "a", "to"]
    authors = rng.choice(list(vocab), n)
    texts = [" ".join(rng.choice(vocab[a] * 2 + common, 8)) for a in authors]
    f = pd.DataFrame({"id": [f"t{i}" for i in range(n)], "text": texts, "author": authors})
    train, test = _split(f, 45)
    train.to_csv(public / "train.csv", index=False)
    test[["id", "text"]].to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "A": 1 / 3, "B": 1 / 3, "C": 1 / 3}).to_csv(public / "sample_submission.csv",
                                                                               index=False)
    answers = pd.DataFrame({"id": test["id"], **{a: (test["author"] == a).astype(float) for a in "ABC"}})
    spec = _spec("id", [(a, "probability") for a in "ABC"], "multiclass_log_loss", "text")
    return spec, answers


def image(public: Path, n: int = 72, seed: int = 0):
    """Images with a bright square (label 1) or without, one PNG per id (AUC)."""
    rng = np.random.default_rng(seed)
    ids = [f"img{i:03d}" for i in range(n)]
    labels = rng.integers(0, 2, n)
    for folder in ("train", "test"):
        (public / folder).mkdir()
    for i, (name, lab) in enumerate(zip(ids, labels, strict=True)):
        a = (rng.random((12, 12, 3)) * 90).astype(np.uint8)
        if lab:
            r, c = rng.integers(0, 6, 2)
            a[r:r + 6, c:c + 6] = 230
        Image.fromarray(a).save(public / ("test" if i >= n - 24 else "train") / f"{name}.png")
    f = pd.DataFrame({"id": ids, "label": labels})
    train, test = _split(f, 24)
    train.to_csv(public / "train.csv", index=False)
    pd.DataFrame({"id": test["id"], "label": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    return _spec("id", [("label", "probability")], "auc", "image"), test


def _wav(path: Path, x: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32000).astype("<i2").tobytes())


def audio(public: Path, n: int = 60, seed: int = 0):
    """Noise with (label 1) or without a rising tone, one wav per clip; the target named unlike the column."""
    rng = np.random.default_rng(seed)
    rate, length = 2000, 1000
    t = np.arange(length) / rate
    clips = [f"c{i:03d}.wav" for i in range(n)]
    labels = rng.integers(0, 2, n)
    for folder in ("train", "test"):
        (public / folder).mkdir()
    for i, (name, lab) in enumerate(zip(clips, labels, strict=True)):
        x = rng.normal(0, 0.3, length)
        if lab:
            x += 0.6 * np.sin(2 * np.pi * (200 + 300 * t) * t)
        _wav(public / ("test" if i >= n - 20 else "train") / name, x, rate)
    f = pd.DataFrame({"clip": clips, "label": labels})
    train, test = _split(f, 20)
    train.to_csv(public / "train.csv", index=False)
    pd.DataFrame({"clip": test["clip"], "probability": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    answers = test.rename(columns={"label": "probability"})
    return _spec("clip", [("probability", "probability")], "auc", "audio"), answers


def pixels(public: Path, n: int = 6, seed: int = 0):
    """Dirty pages to clean (per-pixel RMSE): white paper with dark strokes plus a grey stain."""
    rng = np.random.default_rng(seed)
    for folder in ("train", "train_cleaned", "test"):
        (public / folder).mkdir()
    rows, answers = [], []
    for i in range(n):
        clean = np.ones((10, 14))
        clean[rng.integers(0, 10, 4), :] = 0.1
        dirty = np.clip(clean * 0.8 + 0.2 * rng.random((10, 14)) - 0.15 * (np.arange(14) > 7), 0, 1)
        name = f"{i + 1}"
        folder = "test" if i >= n - 2 else "train"
        Image.fromarray((dirty * 255).astype(np.uint8)).save(public / folder / f"{name}.png")
        if folder == "train":
            Image.fromarray((clean * 255).astype(np.uint8)).save(public / "train_cleaned" / f"{name}.png")
        else:
            q = np.asarray(Image.fromarray((clean * 255).astype(np.uint8)), dtype=float) / 255
            for r in range(10):
                for c in range(14):
                    rows.append(f"{name}_{r + 1}_{c + 1}")
                    answers.append(q[r, c])
    pd.DataFrame({"id": rows, "value": 1.0}).to_csv(public / "sample_submission.csv", index=False)
    return _spec("id", [("value", "float")], "rmse", "image"), pd.DataFrame({"id": rows, "value": answers})


def sequence(public: Path, n_sentences: int = 150, seed: int = 0):
    """Tokens to normalise: words copied, numbers read out ("12" -> "twelve"), capitals spelled ("ABC" -> "a b c")."""
    rng = np.random.default_rng(seed)
    words = ["the", "cat", "sat", "on", "mat", "and", "ran"]
    ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
             "nineteen"]
    tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

    def say(k: int) -> str:
        if k < 10:
            return ones[k]
        if k < 20:
            return teens[k - 10]
        return tens[k // 10] + ("" if k % 10 == 0 else " " + ones[k % 10])

    rows = []
    for s in range(n_sentences):
        for t in range(6):
            kind = rng.choice(["w", "w", "n", "c"])
            if kind == "w":
                b = a = str(rng.choice(words))
            elif kind == "n":
                k = int(rng.integers(0, 50))
                b, a = str(k), say(k)
            else:
                b = "".join(rng.choice(list("ABCDEFGH"), 3))
                a = " ".join(b.lower())
            rows.append((s, t, b, a))
    f = pd.DataFrame(rows, columns=["sentence_id", "token_id", "before", "after"])
    test_mask = f["sentence_id"] >= n_sentences - 30
    f[~test_mask].to_csv(public / "train.csv", index=False)
    test = f[test_mask]
    test[["sentence_id", "token_id", "before"]].to_csv(public / "test.csv", index=False)
    ids = test["sentence_id"].astype(str) + "_" + test["token_id"].astype(str)
    pd.DataFrame({"id": ids, "after": test["before"]}).to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": ids.values, "after": test["after"].values})
    return _spec("id", [("after", "text")], "accuracy", "sequence"), answers


WRITERS = {"tabular": tabular, "text": text, "image": image, "audio": audio, "pixels": pixels,
           "sequence": sequence}

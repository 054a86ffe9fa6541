"""The recipe format: every knob a recipe book may set, its type, default and range.

One table serves both sides: the harness validates scaffold/recipes/*.yaml against it (one-line errors
naming the file and field), and the engine fills in the defaults from it inside the sandbox. Pure Python,
no third-party imports, so that it runs on the sandbox's stack as it is.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple


class Param(NamedTuple):
    """One knob: its kind (int, float, bool, str, ints, floats, strs), default, allowed values and minimum."""

    kind: str
    default: Any
    choices: tuple = ()
    minimum: float | None = None
    nullable: bool = False


def _p(kind: str, default: Any, *choices: Any, minimum: float | None = None, nullable: bool = False) -> Param:
    return Param(kind, default, tuple(choices), minimum, nullable)


# Feature blocks: kind -> (the input it reads, its knobs). Inputs: "table" (columns of the train/test
# tables), "image" (image files), "pixels" (per-pixel rows of image-to-image tasks), "audio" (wav files).
FEATURES: dict[str, tuple[str, dict[str, Param]]] = {
    "numeric": ("table", {"impute": _p("str", "median", "median", "mean", "zero"),
                          "log_skewed": _p("bool", False)}),
    "categorical": ("table", {"max_levels": _p("int", 50, minimum=2),
                              "encoding": _p("str", "onehot", "onehot", "ordinal", "count")}),
    "datetime": ("table", {"parts": _p("strs", ["year", "month", "dow", "hour", "epoch"],
                                       "year", "month", "day", "dow", "hour", "minute", "epoch")}),
    "geo": ("table", {"clip_km": _p("float", 200.0, minimum=1)}),
    "interactions": ("table", {"max_columns": _p("int", 12, minimum=2),
                               "ops": _p("strs", ["product", "ratio"], "product", "ratio")}),
    "string_chars": ("table", {"max_len": _p("int", 16, minimum=2), "alphabet_counts": _p("bool", True)}),
    "tfidf": ("table", {"column": _p("str", "auto"),
                        "analyzer": _p("str", "word", "word", "char", "char_wb"),
                        "ngram_min": _p("int", 1, minimum=1), "ngram_max": _p("int", 2, minimum=1),
                        "min_df": _p("int", 2, minimum=1), "max_df": _p("float", 1.0, minimum=0.01),
                        "max_features": _p("int", 200000, minimum=10), "sublinear_tf": _p("bool", True),
                        "lowercase": _p("bool", True), "binary": _p("bool", False)}),
    "text_stats": ("table", {"column": _p("str", "auto")}),
    "pixels": ("image", {"size": _p("int", 16, minimum=2), "gray": _p("bool", False), "pca": _p("int", 0, minimum=0)}),
    "color_hist": ("image", {"bins": _p("int", 8, minimum=2), "space": _p("str", "rgb", "rgb", "hsv")}),
    "hog": ("image", {"size": _p("int", 32, minimum=8), "cells": _p("int", 4, minimum=1),
                      "orientations": _p("int", 9, minimum=2)}),
    "img_stats": ("image", {"grid": _p("int", 2, minimum=1), "crop": _p("float", 1.0, minimum=0.05)}),
    "lbp": ("image", {"size": _p("int", 32, minimum=8), "grid": _p("int", 1, minimum=1)}),
    "window": ("pixels", {"radius": _p("int", 2, minimum=0)}),
    "local_stats": ("pixels", {"radii": _p("ints", [3, 7])}),
    "global_stats": ("pixels", {}),
    "spectrum": ("audio", {"n_fft": _p("int", 256, minimum=16), "bands": _p("int", 32, minimum=2),
                           "scale": _p("str", "mel", "mel", "linear"),
                           "stats": _p("strs", ["mean", "std", "max"], "mean", "std", "max", "min", "median")}),
    "cepstrum": ("audio", {"n_fft": _p("int", 256, minimum=16), "bands": _p("int", 32, minimum=4),
                           "coeffs": _p("int", 13, minimum=2), "deltas": _p("bool", True)}),
    "spectrogram": ("audio", {"n_fft": _p("int", 256, minimum=16), "bands": _p("int", 24, minimum=2),
                              "frames": _p("int", 16, minimum=2), "pca": _p("int", 0, minimum=0)}),
    "wave_stats": ("audio", {}),
}

# Model families: name -> knobs. "tasks" says which kinds of problem a family can fit.
_TREE = {"n_estimators": _p("int", 300, minimum=1), "max_features": _p("float", 0.5, minimum=0.01),
         "min_samples_leaf": _p("int", 1, minimum=1), "max_depth": _p("int", None, minimum=1, nullable=True)}
FAMILIES: dict[str, dict[str, Param]] = {
    "linear": {"C": _p("float", 1.0, minimum=1e-9), "alpha": _p("float", 1.0, minimum=0.0),
               "max_iter": _p("int", 2000, minimum=10), "class_weight": _p("str", None, "balanced", nullable=True)},
    "nbsvm": {"C": _p("float", 4.0, minimum=1e-9), "smoothing": _p("float", 1.0, minimum=1e-9),
              "max_iter": _p("int", 2000, minimum=10)},
    "naive_bayes": {"alpha": _p("float", 0.1, minimum=1e-9)},
    "hgb": {"learning_rate": _p("float", 0.06, minimum=1e-6), "max_iter": _p("int", 400, minimum=1),
            "max_leaf_nodes": _p("int", 31, minimum=2), "min_samples_leaf": _p("int", 20, minimum=1),
            "l2_regularization": _p("float", 0.0, minimum=0.0), "max_bins": _p("int", 255, minimum=2),
            "early_stopping": _p("bool", True)},
    "random_forest": dict(_TREE),
    "extra_trees": dict(_TREE),
    "knn": {"n_neighbors": _p("int", 15, minimum=1), "weights": _p("str", "distance", "distance", "uniform")},
    "svm": {"C": _p("float", 1.0, minimum=1e-9), "gamma": _p("str", "scale", "scale", "auto")},
    "mlp": {"hidden": _p("ints", [256]), "alpha": _p("float", 1e-3, minimum=0.0),
            "max_iter": _p("int", 200, minimum=1), "learning_rate_init": _p("float", 1e-3, minimum=1e-9)},
    "lda": {"shrinkage": _p("float", None, minimum=0.0, nullable=True)},
    "prior": {},
    "lookup": {"context": _p("bool", False), "spell_out": _p("bool", False), "numbers": _p("bool", False),
               "min_count": _p("int", 1, minimum=1)},
}
SEQUENCE_FAMILIES = ("lookup", "prior")
SCALED_FAMILIES = ("linear", "knn", "svm", "mlp", "lda")   # standardised inputs (with_mean only when dense)

RECIPE_KEYS: dict[str, Param] = {
    "name": _p("str", None),
    "time_share": _p("float", 0.2, minimum=0.0),
    "target": _p("str", "auto", "auto", "none", "log1p"),
    "ordinal": _p("str", "auto", "auto", "regression", "classification"),
    "augment": _p("strs", [], "hflip", "vflip"),
    "max_train_rows": _p("int", None, minimum=10, nullable=True),
    "min_rows": _p("int", 0, minimum=0),
    "max_classes": _p("int", None, minimum=2, nullable=True),
}
BOOK_KEYS: dict[str, Param] = {
    "budget_s": _p("float", 900.0, minimum=1.0),
    "reserve_s": _p("float", 60.0, minimum=0.0),
    "min_recipe_s": _p("float", 20.0, minimum=0.0),
}
SECTIONS: dict[str, dict[str, Param]] = {
    "cv": {"folds": _p("int", 5, minimum=2), "seed": _p("int", 0), "max_train_rows": _p("int", 200000, minimum=10),
           "group_column": _p("str", None, nullable=True),
           "refit": _p("str", "auto", "auto", "always", "never"), "clean": _p("bool", False)},
    "ensemble": {"enabled": _p("bool", True), "top_k": _p("int", 4, minimum=2), "steps": _p("int", 20, minimum=1),
                 "min_gain": _p("float", 0.0, minimum=0.0)},
}
MODALITIES = ("tabular", "text", "image", "audio", "signal", "sequence")


class RecipeError(ValueError):
    """A recipe book that breaks the format; the message names the field."""


def _check(where: str, value: Any, spec: Param) -> Any:
    if value is None:
        if spec.nullable or spec.default is None:
            return None
        raise RecipeError(f"field '{where}' must not be empty")
    kind = spec.kind
    if kind in ("int", "float"):
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (kind == "float" and isinstance(value, float))
        if not ok:
            raise RecipeError(f"field '{where}' must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise RecipeError(f"field '{where}' = {value!r} is out of range (must be >= {spec.minimum:g})")
        return float(value) if kind == "float" else value
    if kind == "bool":
        if not isinstance(value, bool):
            raise RecipeError(f"field '{where}' must be true or false, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise RecipeError(f"field '{where}' must be a non-empty string, got {value!r}")
        if spec.choices and value not in spec.choices:
            raise RecipeError(f"field '{where}' = {value!r} is not one of {', '.join(map(str, spec.choices))}")
        return value
    item = {"ints": int, "floats": (int, float), "strs": str}[kind]
    if not isinstance(value, list) or not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
        raise RecipeError(f"field '{where}' must be a list of {kind[:-1]}s, got {value!r}")
    bad = [v for v in value if spec.choices and v not in spec.choices]
    if bad:
        raise RecipeError(f"field '{where}' has unknown value {bad[0]!r} (known: {', '.join(spec.choices)})")
    return list(value)


def _fill(where: str, data: Any, specs: dict[str, Param], skip: tuple = ()) -> dict:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"field '{where}' must be a mapping")
    unknown = [k for k in data if k not in specs and k not in skip]
    if unknown:
        path = f"{where}.{unknown[0]}" if where else unknown[0]
        raise RecipeError(f"field '{path}' is unknown (known: {', '.join(sorted(specs)) or 'none'})")
    return {k: _check(f"{where}.{k}" if where else k, data.get(k, copy.deepcopy(s.default)), s)
            for k, s in specs.items()}


def _typed(where: str, data: Any, key: str, tables: dict[str, dict[str, Param]], what: str) -> dict:
    """A mapping whose `key` names its type (a feature kind, a model family), filled from that type's knobs."""
    if not isinstance(data, dict) or not isinstance(data.get(key), str):
        raise RecipeError(f"field '{where}' must be a mapping with a '{key}'")
    name = data[key]
    if name not in tables:
        raise RecipeError(f"field '{where}.{key}': unknown {what} {name!r} (known: {', '.join(tables)})")
    return {key: name, **_fill(where, {k: v for k, v in data.items() if k != key}, tables[name])}


def _recipe(where: str, data: Any, sequence: bool) -> dict:
    if not isinstance(data, dict):
        raise RecipeError(f"field '{where}' must be a mapping")
    out = _fill(where, data, RECIPE_KEYS, skip=("features", "model"))
    if out["name"] is None:
        raise RecipeError(f"field '{where}.name' is missing")
    feats = data.get("features", [])
    if not isinstance(feats, list):
        raise RecipeError(f"field '{where}.features' must be a list of feature blocks")
    kinds = {kind: knobs for kind, (_, knobs) in FEATURES.items()}
    out["features"] = [_typed(f"{where}.features[{i}]", b, "kind", kinds, "feature kind") for i, b in enumerate(feats)]
    if "model" not in data:
        raise RecipeError(f"field '{where}.model' is missing")
    out["model"] = _typed(f"{where}.model", data["model"], "family", FAMILIES, "model family")
    family = out["model"]["family"]
    if sequence != (family in SEQUENCE_FAMILIES) and family != "prior":
        what = "sequence recipes use" if sequence else "only sequence recipes use"
        raise RecipeError(f"field '{where}.model.family': {what} {', '.join(SEQUENCE_FAMILIES)} (got {family!r})")
    if not out["features"] and not sequence:
        raise RecipeError(f"field '{where}.features' is empty: a {family} model needs at least one feature block")
    return out


def validate_book(data: Any) -> dict:
    """A recipe book (one YAML file's mapping) checked and with every default filled in; RecipeError if not."""
    if not isinstance(data, dict):
        raise RecipeError("expected a mapping at the top level")
    mods = data.get("modalities")
    if not isinstance(mods, list) or not mods or not all(isinstance(m, str) for m in mods):
        raise RecipeError("field 'modalities' must be a non-empty list of modality names")
    for m in mods:
        if m not in MODALITIES:
            raise RecipeError(f"field 'modalities' names unknown modality {m!r} (known: {', '.join(MODALITIES)})")
    sections = ("modalities", "recipes", "fallback", *SECTIONS)
    book = _fill("", data, BOOK_KEYS, skip=sections)
    book["modalities"] = list(mods)
    for name, specs in SECTIONS.items():
        book[name] = _fill(name, data.get(name), specs)
    recipes = data.get("recipes")
    if not isinstance(recipes, list) or not recipes:
        raise RecipeError("field 'recipes' must be a non-empty list of recipes")
    sequence = "sequence" in mods
    book["recipes"] = [_recipe(f"recipes[{i}]", r, sequence) for i, r in enumerate(recipes)]
    names = [r["name"] for r in book["recipes"]]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise RecipeError(f"field 'recipes[{i}].name': {name!r} is used twice")
    if "fallback" not in data:
        raise RecipeError("field 'fallback' is missing: the simple recipe run when the first one fails")
    book["fallback"] = _recipe("fallback", data["fallback"], sequence)
    if book["fallback"]["name"] in names:
        raise RecipeError(f"field 'fallback.name': {book['fallback']['name']!r} is also a recipe's name")
    return book

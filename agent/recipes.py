"""The heuristic engineer's recipe books (scaffold/recipes/*.yaml), validated on load.

One book per file serves one or more competition modalities: features, model families and their
hyperparameters, CV folds, the time split between recipes and blending. The format and every default
live in agent/heuristic_engine/schema.py, which the engine also uses inside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.heuristic_engine.schema import MODALITIES, RecipeError, validate_book
from common.errors import UserError


@dataclass(frozen=True)
class RecipeBook:
    """One validated recipe file, with every default filled in (what the engine reads as recipes.json)."""

    path: Path
    data: dict

    @property
    def names(self) -> list[str]:
        """The recipes' names, in the order they are tried."""
        return [r["name"] for r in self.data["recipes"]]

    def recipe(self, name: str) -> dict:
        """A recipe (or the fallback) by name."""
        for r in self.data["recipes"] + [self.data["fallback"]]:
            if r["name"] == name:
                return r
        raise KeyError(name)


@dataclass(frozen=True)
class Recipes:
    """The recipe books by modality."""

    folder: Path
    books: dict[str, RecipeBook]

    def for_modality(self, modality: str) -> RecipeBook:
        """The book serving a competition modality."""
        if modality not in self.books:
            raise UserError(f"{self.folder}: no recipe book serves modality {modality!r}")
        return self.books[modality]


def load_book(path: Path) -> RecipeBook:
    """Read and validate one recipe file; a UserError names the file and the field."""
    from agent.scaffold import _load_yaml  # shared YAML reading with one-line errors

    data = _load_yaml(path)
    try:
        return RecipeBook(path, validate_book(data))
    except RecipeError as exc:
        raise UserError(f"{path}: {exc}") from exc


def load_recipes(folder: Path) -> Recipes:
    """Every book under folder; each modality must be served by exactly one book."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"scaffold folder missing: {folder} (the heuristic engineer's recipe books)")
    books: dict[str, RecipeBook] = {}
    for path in sorted(folder.glob("*.yaml")):
        book = load_book(path)
        for m in book.data["modalities"]:
            if m in books:
                raise UserError(f"{path}: field 'modalities' names {m!r}, already served by {books[m].path.name}")
            books[m] = book
    missing = [m for m in MODALITIES if m not in books]
    if missing:
        raise UserError(f"{folder}: no recipe book serves modality {missing[0]!r} (list it in a file's 'modalities')")
    return Recipes(folder, books)

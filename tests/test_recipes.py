"""The heuristic engineer's recipe books (scaffold/recipes/*.yaml): the shipped ones load, bad ones fail in one line."""

import shutil

import pytest
import yaml

from agent.heuristic_engine.schema import FAMILIES, FEATURES, MODALITIES
from agent.recipes import load_recipes
from agent.scaffold import load_scaffold
from agent.tools import TOOLS
from common import paths
from common.errors import UserError

SHIPPED = paths.ROOT / "scaffold" / "recipes"


@pytest.fixture
def books(tmp_path):
    folder = tmp_path / "recipes"
    shutil.copytree(SHIPPED, folder)
    return folder


def _edit(folder, name, fn):
    path = folder / name
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _error(folder) -> str:
    with pytest.raises(UserError) as info:
        load_recipes(folder)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_shipped_books_serve_every_modality_with_defaults_filled():
    recipes = load_recipes(SHIPPED)
    assert set(recipes.books) == set(MODALITIES)
    for book in recipes.books.values():
        data = book.data
        assert data["cv"]["folds"] >= 2 and data["budget_s"] > data["reserve_s"]
        assert len(book.names) >= 2
        for r in data["recipes"] + [data["fallback"]]:
            family = r["model"]["family"]
            assert set(r["model"]) == {"family", *FAMILIES[family]}     # every hyperparameter has a value
            for block in r["features"]:
                assert set(block) == {"kind", *FEATURES[block["kind"]][1]}
    assert recipes.for_modality("signal") is recipes.for_modality("audio")


def test_the_scaffold_exposes_the_recipes():
    scaffold = load_scaffold(known_tools=set(TOOLS))
    assert scaffold.recipes.for_modality("text").names[0] == load_recipes(SHIPPED).for_modality("text").names[0]


def test_bad_yaml_names_the_file(books):
    (books / "text.yaml").write_text("recipes: [unclosed\n")
    msg = _error(books)
    assert "text.yaml" in msg and "invalid YAML" in msg


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d["recipes"][0]["model"].update(family="xgboost"),
     "field 'recipes[0].model.family': unknown model family 'xgboost'"),
    (lambda d: d["recipes"][1]["features"][0].update(kind="bert"),
     "field 'recipes[1].features[0].kind': unknown feature kind 'bert'"),
    (lambda d: d["recipes"][0]["model"].update(Cc=3),
     "field 'recipes[0].model.Cc' is unknown (known: C, alpha, class_weight, max_iter)"),
    (lambda d: d["recipes"][0]["model"].update(C="strong"), "field 'recipes[0].model.C' must be a number"),
    (lambda d: d["cv"].update(folds=1), "field 'cv.folds' = 1 is out of range (must be >= 2)"),
    (lambda d: d["recipes"][1].update(name=d["recipes"][0]["name"]), "field 'recipes[1].name': 'word_lr' is used twice"),
    (lambda d: d.pop("fallback"), "field 'fallback' is missing"),
    (lambda d: d["recipes"][0]["features"][0].update(analyzer="sentencepiece"),
     "field 'recipes[0].features[0].analyzer' = 'sentencepiece' is not one of word, char, char_wb"),
    (lambda d: d.update(speed="fast"), "field 'speed' is unknown"),
    (lambda d: d["recipes"][0].update(model={"family": "lookup"}), "only sequence recipes use lookup"),
    (lambda d: d["recipes"][0].update(features=[]), "field 'recipes[0].features' is empty"),
])
def test_a_broken_recipe_is_a_one_line_error_naming_file_and_field(books, edit, expected):
    _edit(books, "text.yaml", edit)
    msg = _error(books)
    assert msg.startswith(str(books / "text.yaml") + ": ") and expected in msg, msg


def test_every_modality_must_be_served_exactly_once(books):
    (books / "sequence.yaml").unlink()
    assert "no recipe book serves modality 'sequence'" in _error(books)
    shutil.copy(SHIPPED / "sequence.yaml", books / "sequence.yaml")
    _edit(books, "text.yaml", lambda d: d["modalities"].append("tabular"))
    assert "names 'tabular', already served by" in _error(books)


def test_a_broken_recipe_book_stops_the_scaffold_from_loading(tmp_path, monkeypatch):
    root = tmp_path / "scaffold"
    shutil.copytree(paths.ROOT / "scaffold", root)
    _edit(root / "recipes", "image.yaml", lambda d: d["recipes"][0]["model"].update(family="resnet"))
    monkeypatch.setenv("EVOFORGE_SCAFFOLD", str(root))
    with pytest.raises(UserError, match=r"image.yaml: field 'recipes\[0\].model.family': unknown model family"):
        load_scaffold(known_tools=set(TOOLS))

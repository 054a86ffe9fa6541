"""Core of the MLE-lite suite on a small competition written into a temp dir: registry, prepare,
validation messages, grading robustness and speed, metrics, reference field, MLE-bench layout."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.errors import UserError
from tasks.mle_lite import metrics
from tasks.mle_lite.grading import grade_dataframe, grade_file, validate_file
from tasks.mle_lite.leakage import find_leaks
from tasks.mle_lite.registry import get_competition, list_competitions
from tasks.mle_lite.toy import write_toy_competition


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A prepared toy competition living entirely in tmp_path."""
    comps = tmp_path / "comps"
    write_toy_competition(comps)
    monkeypatch.setenv("EVOFORGE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EVOFORGE_COMPETITIONS_PATH", str(comps))
    comp = get_competition("toy-binary")
    comp.prepare()
    return comp


def _sample(comp) -> pd.DataFrame:
    return pd.read_csv(comp.sample_submission_path, dtype={"id": str})


# --- registry and prepare --------------------------------------------------------------------

def test_registry_finds_extra_path_and_suggests_close_ids(toy):
    ids = [c.id for c in list_competitions()]
    assert "toy-binary" in ids
    with pytest.raises(UserError, match="did you mean toy-binary"):
        get_competition("toy-binnary")
    with pytest.raises(UserError, match="unknown competition"):
        get_competition("zzzzzzzz-qqqq")


def test_prepare_layout_is_idempotent_and_private_is_separate(toy):
    assert toy.is_prepared()
    assert sorted(p.name for p in toy.public_dir.iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert sorted(p.name for p in toy.private_dir.iterdir()) == ["answers.csv"]
    assert toy.data_root.parent.parent == Path(os.environ["EVOFORGE_DATA"])
    marker = toy.data_root / ".prepared.json"
    before = marker.stat().st_mtime_ns
    toy.prepare()
    assert marker.stat().st_mtime_ns == before  # nothing redone
    toy.prepare(force=True)
    assert marker.stat().st_mtime_ns != before
    assert not [p for p in toy.data_root.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_half_finished_prepare_is_redone(toy):
    (toy.public_dir / "test.csv").unlink()
    assert not toy.is_prepared()
    toy.prepare()
    assert toy.is_prepared() and (toy.public_dir / "test.csv").exists()
    with open(toy.private_dir / "answers.csv", "a") as f:
        f.write("truncated,")
    assert not toy.is_prepared()
    (toy.data_root / ".prepared.json").unlink()
    assert not toy.is_prepared()
    toy.prepare()
    assert toy.is_prepared()


def test_prepare_is_deterministic(toy):
    first = (toy.private_dir / "answers.csv").read_bytes()
    toy.prepare(force=True)
    assert (toy.private_dir / "answers.csv").read_bytes() == first


def test_changed_recipe_means_not_prepared(toy, tmp_path):
    with open(toy.dir / "prepare.py", "a") as f:
        f.write("\n# changed\n")
    fresh = get_competition("toy-binary")
    assert not fresh.is_prepared()


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: c.pop("metric"), "metric"),
        (lambda c: c.__setitem__("metric", "not_a_metric"), "metric"),
        (lambda c: c.__setitem__("higher_is_better", "yes"), "higher_is_better"),
        (lambda c: c.__setitem__("higher_is_better", True), "higher_is_better' is true but metric 'log_loss'"),
        (lambda c: c.__setitem__("modality", "smell"), "modality"),
        (lambda c: c.__setitem__("id", "other-id"), "id"),
        (lambda c: c["submission"]["columns"][0].__setitem__("kind", "colour"), "kind"),
        (lambda c: c["submission"].pop("id_column"), "id_column"),
        (lambda c: c.__setitem__("baseline_score", "high"), "baseline_score"),
    ],
)
def test_bad_config_names_the_field(tmp_path, monkeypatch, edit, field):
    import yaml

    folder = write_toy_competition(tmp_path / "comps", "toy-bad")
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    edit(cfg)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("EVOFORGE_COMPETITIONS_PATH", str(tmp_path / "comps"))
    with pytest.raises(UserError, match=field) as info:
        list_competitions()
    assert "config.yaml" in str(info.value) and "\n" not in str(info.value)


# --- validation ------------------------------------------------------------------------------

def _write(tmp_path, frame: pd.DataFrame | None = None, raw: bytes | None = None) -> Path:
    path = tmp_path / "sub.csv"
    if raw is not None:
        path.write_bytes(raw)
    else:
        frame.to_csv(path, index=False)
    return path


def test_sample_submission_is_valid(toy):
    assert validate_file(toy, toy.sample_submission_path) is None


CORRUPTIONS = {
    "missing column": (lambda s: s.drop(columns="target"), "missing column"),
    "extra column": (lambda s: s.assign(extra=1), "unexpected column"),
    "misnamed column": (lambda s: s.rename(columns={"target": "prob"}), "misnamed column"),
    "case of a column": (lambda s: s.rename(columns={"target": "Target"}), "should be named 'target'"),
    "duplicate id": (lambda s: s.assign(id=[s.id[1], *s.id[1:]]), "duplicate id"),
    "unknown id": (lambda s: s.assign(id=["nope", *s.id[1:]]), "not in the test set"),
    "row dropped": (lambda s: s.iloc[:-1], "wrong row count: 99 rows, expected 100"),
    "row repeated": (lambda s: pd.concat([s, s.iloc[:1]]), "wrong row count: 101 rows"),
    "no rows": (lambda s: s.iloc[:0], "no data rows"),
    "nan": (lambda s: s.assign(target=[np.nan, *s.target[1:]]), "missing/NaN"),
    "inf": (lambda s: s.assign(target=[np.inf, *s.target[1:]]), "infinite"),
    "text in numbers": (lambda s: s.assign(target=["high", *s.target[1:]]), "must be numeric"),
    "probability > 1": (lambda s: s.assign(target=[1.5, *s.target[1:]]), "[0, 1]"),
    "probability < 0": (lambda s: s.assign(target=[-0.1, *s.target[1:]]), "[0, 1]"),
    "repeated header": (lambda s: s.assign(id2=s.id).rename(columns={"id2": "id"}), "repeated column"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_gets_a_specific_message(toy, tmp_path, name):
    corrupt, expected = CORRUPTIONS[name]
    path = _write(tmp_path, corrupt(_sample(toy)))
    message = validate_file(toy, path)
    assert message is not None and expected in message, message
    assert "\n" not in message
    report = grade_file(toy, path)
    assert report.to_dict() == {"valid": False, "error": message, "score": None, "medal": None, "above_median": None}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("id,target\nr1,0.5\n".encode("utf-16"), "binary"),
        ("id,target\nré,0.5\n".encode("latin-1"), "not UTF-8"),
        (b"id;target\nr1;0.5\n", "comma-separated"),
        (b'id,target\n"r1,0.5\n', "not a valid CSV"),
        (b"id,target\nr1,0.5,7\n", "not a valid CSV"),
    ],
)
def test_unreadable_files(toy, tmp_path, raw, expected):
    message = validate_file(toy, _write(tmp_path, raw=raw))
    assert message is not None and expected in message, message


def test_missing_file(toy, tmp_path):
    assert "not found" in validate_file(toy, tmp_path / "nope.csv")
    assert "not a file" in validate_file(toy, tmp_path)


def test_row_order_and_column_order_do_not_matter(toy, tmp_path):
    sub = toy.solutions["logistic"](toy.public_dir, 0)
    a = grade_file(toy, _write(tmp_path, sub))
    shuffled = sub.sample(frac=1.0, random_state=1)[["target", "id"]]
    b = grade_file(toy, _write(tmp_path, shuffled))
    assert a.valid and b.valid and a.score == pytest.approx(b.score, abs=1e-12)


def test_grading_never_raises_on_fuzz(toy, tmp_path):
    rng = np.random.default_rng(0)
    base = (tmp_path / "base.csv")
    _sample(toy).to_csv(base, index=False)
    text = base.read_bytes()
    cases = [rng.bytes(int(n)) for n in rng.integers(1, 5000, 30)]
    for _ in range(60):  # random byte edits of a valid file
        arr = bytearray(text)
        for pos in rng.integers(0, len(arr), rng.integers(1, 20)):
            arr[pos] = int(rng.integers(0, 256))
        cases.append(bytes(arr))
    sample = _sample(toy)
    cases += [
        sample.assign(target="1e400").to_csv(index=False).encode(),
        sample.assign(target="99999999999999999999999999999").to_csv(index=False).encode(),
        sample.assign(target="0x1p-2").to_csv(index=False).encode(),
        sample.assign(target="  0.5  ").to_csv(index=False).encode(),
        b"id,target\n" + b"r,1\n" * 100000,
        b"\xef\xbb\xbf" + text,  # UTF-8 BOM is accepted
        b",,,,\n,,,,\n",
        b"id,target\n" + b'"' * 1000,
    ]
    for i, raw in enumerate(cases):
        path = tmp_path / f"fuzz{i}.csv"
        path.write_bytes(raw)
        report = grade_file(toy, path)  # must not raise
        assert isinstance(report.valid, bool)
        assert report.valid == (report.error is None)
        if report.valid:
            assert math.isfinite(report.score)
        else:
            assert report.error and "\n" not in report.error
    bom = tmp_path / "fuzz_bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text)
    assert grade_file(toy, bom).valid


def test_grade_matches_metric(toy, tmp_path):
    sub = toy.solutions["logistic"](toy.public_dir, 0)
    path = _write(tmp_path, sub)
    answers = pd.read_csv(toy.answers_path, dtype={"id": str}).sort_values("id")
    expected = metrics.log_loss(answers["target"], sub.astype({"id": str}).sort_values("id")["target"])
    report = grade_file(toy, path)  # speed: bench/grading_speed.py
    assert report.valid and report.score == pytest.approx(expected, rel=1e-12)
    assert report.medal is None and report.above_median is None  # no leaderboard yet


# --- reference field and medals on a real leaderboard ----------------------------------------

def test_reference_field_writes_sorted_leaderboard_and_medals(toy, capsys):
    from tasks.mle_lite.reference_field import build_field

    board = build_field("toy-binary", seeds=(0, 1), jobs=1)
    out = capsys.readouterr().out
    assert "thresholds: gold" in out and "check: baseline lands at" in out
    written = pd.read_csv(toy.leaderboard_path)
    assert list(written.columns) == ["teamName", "score"]
    assert written["score"].is_monotonic_increasing  # log-loss: best (lowest) first
    assert len(written) == len(board) >= 5
    # deterministic entries count once, seeded ones once per seed
    assert (written["teamName"] == "constant").sum() == 1
    assert {"logistic_small-seed0", "logistic_small-seed1"} <= set(written["teamName"])
    best = grade_dataframe(toy, toy.solutions["logistic"](toy.public_dir, 0))
    worst = grade_dataframe(toy, toy.solutions["constant"](toy.public_dir, 0))
    assert best.medal == "gold" and best.above_median is True
    assert worst.medal is None and worst.above_median is False


# --- leakage checker on a deliberately leaky competition --------------------------------------

def test_leak_checker_flags_a_leaky_public_folder(toy):
    assert find_leaks(toy) == []
    answers = pd.read_csv(toy.answers_path)
    test = pd.read_csv(toy.public_dir / "test.csv")
    test.merge(answers.rename(columns={"target": "hint"}), on="id").to_csv(toy.public_dir / "test.csv", index=False)
    answers.to_csv(toy.public_dir / "extra.csv", index=False)
    leaks = find_leaks(toy)
    assert any("test.csv column 'hint'" in m for m in leaks)
    assert any("extra.csv" in m and "copy of the private answers" in m for m in leaks)
    (toy.public_dir / "answers_backup.txt").write_text("x")
    assert any("named like private answers" in m for m in find_leaks(toy))


# --- metrics: hand-computed values -----------------------------------------------------------

def test_metrics_hand_computed():
    assert metrics.log_loss([1, 0], [0.8, 0.4]) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert metrics.log_loss([1], [0.0]) == pytest.approx(-math.log(1e-15))  # clipped, finite
    # multi-class: rows renormalised ([2, 2] -> [0.5, 0.5]) and clipped
    assert metrics.multiclass_log_loss([0, 1], [[2.0, 2.0], [0.25, 0.75]]) == pytest.approx(
        -(math.log(0.5) + math.log(0.75)) / 2)
    assert metrics.multiclass_log_loss(["b"], [[0.2, 0.8]], labels=["a", "b"]) == pytest.approx(-math.log(0.8))
    assert metrics.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert metrics.mean_column_auc([[0, 1], [1, 0], [1, 1], [0, 0]],
                                   [[0.1, 0.9], [0.9, 0.2], [0.8, 0.7], [0.2, 0.1]]) == pytest.approx(1.0)
    assert metrics.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert metrics.rmsle([0, math.e - 1], [0, 0]) == pytest.approx(math.sqrt(0.5))
    assert metrics.mean_column_rmsle([[0, 0], [0, 0]], [[math.e - 1, 0], [math.e - 1, 0]]) == pytest.approx(0.5)
    assert metrics.accuracy(["a", "b", "c"], ["a", "b", "x"]) == pytest.approx(2 / 3)
    assert metrics.mcc([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(1 / math.sqrt(3))
    assert metrics.quadratic_weighted_kappa([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    # QWK of [0,0,1,1] vs [0,1,1,1]: observed weighted disagreement 1/4*(1/1) vs expected -> 0.5 (hand-computed)
    assert metrics.quadratic_weighted_kappa([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    assert set(metrics.METRICS) == set(metrics.HIGHER_IS_BETTER)


# --- MLE-bench layout ------------------------------------------------------------------------

MLEBENCH_GRADE = '''\
import pandas as pd
from sklearn.metrics import roc_auc_score

from mlebench.grade_helpers import InvalidSubmissionError


def grade(submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    if len(submission) != len(answers):
        raise InvalidSubmissionError("Submission and answers must have the same length")
    if "has_cactus" not in submission.columns:
        raise InvalidSubmissionError("Submission must have a `has_cactus` column")
    merged = answers.merge(submission, on="id", suffixes=("_true", "_pred"))
    return roc_auc_score(merged["has_cactus_true"], merged["has_cactus_pred"])
'''

MLEBENCH_CONFIG = """\
id: aerial-cactus-identification
name: Aerial Cactus Identification
competition_type: simple
awards_medals: false
prizes: null
description: mlebench/competitions/aerial-cactus-identification/description.md

dataset:
  answers: aerial-cactus-identification/prepared/private/test.csv
  sample_submission: aerial-cactus-identification/prepared/public/sample_submission.csv

grader:
  name: auc
  grade_fn: mlebench.competitions.aerial-cactus-identification.grade:grade

preparer: mlebench.competitions.aerial-cactus-identification.prepare:prepare
"""


def make_mlebench_fixture(root: Path) -> tuple[Path, Path]:
    """A tiny MLE-bench checkout (package + registry folder) and data dir, in MLE-bench's own layout."""
    cid = "aerial-cactus-identification"
    repo, data = root / "mle-bench", root / "mle-data"
    pkg = repo / "mlebench"
    reg = pkg / "competitions" / cid
    reg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "grade_helpers.py").write_text("class InvalidSubmissionError(Exception):\n    pass\n")
    (reg / "config.yaml").write_text(MLEBENCH_CONFIG)
    (reg / "grade.py").write_text(MLEBENCH_GRADE)
    (reg / "prepare.py").write_text("def prepare(raw, public, private):\n    pass\n")
    (reg / "description.md").write_text("# Aerial Cactus Identification\n\nDetect cacti.\n")
    rng = np.random.default_rng(0)
    n = 60
    scores = np.sort(rng.uniform(0.5, 1.0, 120))[::-1]  # higher is better, best first (Kaggle order)
    pd.DataFrame({"teamId": range(120), "teamName": [f"t{i}" for i in range(120)], "score": scores,
                  "submissionDate": "2019-07-08", "rank": range(1, 121)}).to_csv(reg / "leaderboard.csv", index=False)
    public, private = data / cid / "prepared" / "public", data / cid / "prepared" / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    ids = [f"{i:04x}.jpg" for i in range(n)]
    y = rng.integers(0, 2, n)
    pd.DataFrame({"id": ids, "has_cactus": y}).to_csv(private / "test.csv", index=False)
    pd.DataFrame({"id": ids, "has_cactus": 0.5}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({"id": ids, "has_cactus": y * 0.9 + 0.05}).to_csv(root / "perfect.csv", index=False)
    pd.DataFrame({"id": ids[:-1], "has_cactus": 0.5}).to_csv(root / "short.csv", index=False)
    return repo, data


@pytest.fixture
def no_mlebench_modules():
    """Forget any imported `mlebench` modules before and after the test."""
    def forget():
        for name in [m for m in sys.modules if m == "mlebench" or m.startswith("mlebench.")]:
            del sys.modules[name]
    forget()
    yield
    forget()


def test_mlebench_layout_grades_with_its_own_grade_fn(tmp_path, monkeypatch, no_mlebench_modules):
    repo, data = make_mlebench_fixture(tmp_path)
    monkeypatch.syspath_prepend(str(repo))
    comps = list_competitions(mlebench_dir=data)
    ids = [c.id for c in comps]
    assert "mlebench:aerial-cactus-identification" in ids
    comp = get_competition("mlebench:aerial-cactus-identification", mlebench_dir=data)
    summary = comp.summary()
    assert summary["source"] == "mlebench" and summary["metric"] == "auc" and summary["higher_is_better"] is True
    assert comp.public_dir == data / "aerial-cactus-identification" / "prepared" / "public"
    assert "Detect cacti" in comp.description()
    report = grade_file(comp, tmp_path / "perfect.csv")
    assert report.to_dict() == {"valid": True, "error": None, "score": 1.0, "medal": "gold", "above_median": True}
    bad = grade_file(comp, tmp_path / "short.csv")
    assert not bad.valid and "wrong row count" in bad.error
    assert validate_file(comp, comp.sample_submission_path) is None
    with pytest.raises(UserError, match="did you mean mlebench:aerial-cactus-identification"):
        get_competition("mlebench:aerial-cactus-identificatio", mlebench_dir=data)


def test_mlebench_validation_uses_only_public_information(tmp_path, monkeypatch, no_mlebench_modules):
    repo, data = make_mlebench_fixture(tmp_path)
    cid = "aerial-cactus-identification"
    grade = repo / "mlebench" / "competitions" / cid / "grade.py"
    # a grader that quotes the private answers when it rejects a file, and records that it ran
    grade.write_text(MLEBENCH_GRADE.replace(
        "    if len(submission) != len(answers):",
        "    open(__file__ + '.ran', 'w').write('1')\n"
        "    if submission['has_cactus'].max() > 0.99:\n"
        "        raise InvalidSubmissionError('answers were ' + answers.to_csv(index=False))\n"
        "    if len(submission) != len(answers):"))
    monkeypatch.syspath_prepend(str(repo))
    comp = get_competition(f"mlebench:{cid}", mlebench_dir=data)
    private = (data / cid / "prepared" / "private" / "test.csv").read_text().splitlines()[1]
    sample = pd.read_csv(comp.sample_submission_path)
    cases = {
        "ok.csv": sample,
        "short.csv": sample.iloc[:-1],
        "cols.csv": sample.rename(columns={"has_cactus": "cactus"}),
        "dup.csv": pd.concat([sample.iloc[:-1], sample.iloc[:1]]),
        "text.csv": sample.assign(has_cactus="yes"),
        "quotes.csv": sample.assign(has_cactus=1.0),
    }
    msgs = {}
    for name, frame in cases.items():
        frame.to_csv(tmp_path / name, index=False)
        msgs[name] = validate_file(comp, tmp_path / name)
    assert msgs["ok.csv"] is None and msgs["quotes.csv"] is None
    assert "wrong row count" in msgs["short.csv"] and "missing column(s) 'has_cactus'" in msgs["cols.csv"]
    assert "duplicate" in msgs["dup.csv"] and "finite numbers" in msgs["text.csv"]
    assert not Path(str(grade) + ".ran").exists()                     # validation never ran the grader
    report = grade_file(comp, tmp_path / "quotes.csv")                 # grading does, outside the sandbox
    assert Path(str(grade) + ".ran").exists()
    assert not report.valid and "grader rejected" in report.error and private not in report.error


def test_mlebench_without_the_package_says_what_is_missing(tmp_path, monkeypatch):
    repo, data = make_mlebench_fixture(tmp_path)
    cid = "aerial-cactus-identification"
    monkeypatch.setenv("EVOFORGE_MLEBENCH_REGISTRY", str(repo / "mlebench" / "competitions"))
    code = (
        "import json, sys\n"
        "from tasks.mle_lite.registry import get_competition\n"
        "from tasks.mle_lite.grading import grade_file\n"
        f"c = get_competition('mlebench:{cid}', mlebench_dir=sys.argv[1])\n"
        "print(json.dumps(grade_file(c, sys.argv[2]).to_dict()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(data), str(tmp_path / "perfect.csv")],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    report = json.loads(out.stdout)
    assert report["valid"] is False and "mlebench" in report["error"] and "install" in report["error"]


def test_label_kind_is_typed_and_checked(tmp_path, monkeypatch):
    import yaml

    folder = write_toy_competition(tmp_path / "comps", "toy-labels")
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg.update(metric="accuracy", higher_is_better=True)
    cfg["submission"]["columns"] = [{"name": "target", "kind": "label"}]
    cfg["submission"]["labels"] = [0, 1]
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    (folder / "prepare.py").write_text((folder / "prepare.py").read_text().replace('"target": 0.5', '"target": 0'))
    (folder / "grade.py").write_text(
        "from tasks.mle_lite.metrics import accuracy\n\n"
        "def grade(submission, answers):\n"
        "    assert submission['target'].dtype.kind == 'i' and answers['target'].dtype.kind == 'i'\n"
        "    return accuracy(answers['target'], submission['target'])\n")
    monkeypatch.setenv("EVOFORGE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EVOFORGE_COMPETITIONS_PATH", str(tmp_path / "comps"))
    comp = get_competition("toy-labels")
    comp.prepare()
    sample = _sample(comp)
    answers = pd.read_csv(comp.answers_path, dtype={"id": str})
    report = grade_file(comp, comp.sample_submission_path)
    assert report.valid and report.score == pytest.approx((answers["target"] == 0).mean())
    perfect = _write(tmp_path, answers)
    assert grade_file(comp, perfect).score == 1.0
    message = validate_file(comp, _write(tmp_path, sample.assign(target=["2", *sample.target[1:].astype(str)])))
    assert "not in the allowed labels (0, 1): '2' at line 2" in message
    message = validate_file(comp, _write(tmp_path, sample.assign(target=["0.5", *sample.target[1:].astype(str)])))
    assert "allowed labels" in message


def test_numpy_metrics_agree_with_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(10, 200))
        y = np.r_[0, 1, rng.integers(0, 2, n)]
        s = np.round(rng.random(n + 2), 2)  # with ties
        assert metrics.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        a, b = rng.integers(0, 5, n), rng.integers(0, 5, n)
        assert metrics.mcc(a, b) == pytest.approx(skm.matthews_corrcoef(a, b), abs=1e-12)
        assert metrics.quadratic_weighted_kappa(a, b) == pytest.approx(
            skm.cohen_kappa_score(a, b, weights="quadratic"), abs=1e-12)
        assert metrics.f1_macro(a, b) == pytest.approx(skm.f1_score(a, b, average="macro"), abs=1e-12)
    with pytest.raises(ValueError, match="Only one class"):
        metrics.auc([1, 1], [0.2, 0.3])


def test_editing_baseline_score_keeps_prepared_data(toy):
    cfg = toy.dir / "config.yaml"
    cfg.write_text(cfg.read_text().replace("baseline_score: null", "baseline_score: 0.5"))
    fresh = get_competition("toy-binary")
    assert fresh.config.baseline_score == 0.5 and fresh.is_prepared()

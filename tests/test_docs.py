"""The documentation cannot drift from the code: every command it shows resolves against the real CLI
and checkout, and the runnable ones run (conventions: CONTRIBUTING.md, checker: tests/doccheck.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import doccheck
from tests.doccheck import ROOT, Block, DocEnv, commands, doc_files, resolve, static_problems

DOCS = doc_files()
IDS = [doccheck.rel(p) for p in DOCS]


@pytest.fixture(scope="session")
def doc_env(tmp_path_factory) -> DocEnv:
    return DocEnv(tmp_path_factory.mktemp("docs-env"))


# ------------------------------------------------------------------ the documents themselves

@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_commands_links_and_examples_resolve(path: Path) -> None:
    problems = static_problems(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_runnable_commands_run(path: Path, doc_env: DocEnv) -> None:
    problems = doc_env.run_doc(path)
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS, ids=IDS)
def test_slow_commands_run(path: Path, doc_env: DocEnv) -> None:
    problems = doc_env.run_doc(path, slow=True, timeout=3600)
    assert not problems, "\n\n".join(problems)


def test_readme_is_a_short_tour_linking_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 16 * 1024, f"README.md is {len(readme.encode())} bytes; keep it under 16 KB"
    linked = {(ROOT / m).resolve() for m in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)}
    missing = [doccheck.rel(p) for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"add these pages to the README's documentation table: {missing}"


def test_competition_table_matches_the_leaderboards() -> None:
    """The 'reference fields at a glance' numbers are those of leaderboard.csv and config.yaml."""
    from tasks.mle_lite.medals import read_leaderboard, thresholds
    from tasks.mle_lite.registry import list_competitions

    text = (ROOT / "docs" / "COMPETITIONS.md").read_text()
    section = text.split("### Reference fields at a glance", 1)[1].split("\n### ", 1)[0]
    rows = {cells[0]: cells[1:] for line in section.splitlines() if line.startswith("| ")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    comps = [c for c in list_competitions() if c.source_kind == "mle_lite" and c.dir.parent.name == "competitions"]
    assert comps and set(rows) - {"id"} == {c.id for c in comps}

    def same(shown: str, value: float) -> bool:
        number = float(shown.split()[0])
        return abs(number - value) <= 5e-4 * max(abs(value), 1e-9) + 1e-12

    for comp in comps:
        teams, baseline, bronze, gold, best = rows[comp.id]
        board = read_leaderboard(comp.leaderboard_path)
        th = thresholds(board["score"], comp.higher_is_better)
        top = board["score"].max() if comp.higher_is_better else board["score"].min()
        assert int(teams) == th.num_teams, comp.id
        for shown, value in ((baseline, comp.config.baseline_score), (bronze, th.bronze), (gold, th.gold),
                             (best, top)):
            assert same(shown, value), f"{comp.id}: table shows {shown}, the files say {value:.6g}"


# ------------------------------------------------------------------ the checker itself

def _problems(tmp_path: Path, markdown: str) -> list[str]:
    doc = tmp_path / "doc.md"
    doc.write_text(markdown)
    return static_problems(doc)


def _bash(*lines: str) -> str:
    return "```bash\n" + "\n".join(lines) + "\n```\n"


def test_checker_accepts_real_commands(tmp_path: Path) -> None:
    doc = _bash(
        "evoforge tasks grade spooky-author-identification sub.csv --json",
        "evoforge run spooky-author-identification --policy heuristic --max-turns 3 -q",
        "evoforge tasks prepare [ID…|--all] [--force]",
        "evoforge --help",
        "python -m tasks.mle_lite.reference_field leaf-classification --jobs 2",
        "bash bench/torchrun_smoke.sh   # [gpu]",
    ) + "Also `evoforge runs show RUN_ID --events`.\n"
    assert _problems(tmp_path, doc) == []


@pytest.mark.parametrize("line, expected", [
    ("evoforge runs frobnicate", "No such command 'frobnicate'"),
    ("evoforge run spooky-author-identification --no-such-flag", "--no-such-flag"),
    ("evoforge run spooky-author-identification --max-turns zero", "--max-turns"),
    ("evoforge tasks grade spooky-author-identification", "Missing argument"),
    ("evoforge tasks list [--jsn]", "no option --jsn"),
    ("evoforge runs frob RUN_ID", "no command 'frob'"),
    ("python -m tasks.mle_lite.no_such_module", "no such module"),
    ("python -m tasks.mle_lite.reference_field --jbs 2", "no option --jbs"),
    ("python bench/no_such_bench.py", "no such file"),
    ("evoforge train trainer/configs/no_such.yaml", "trainer/configs/no_such.yaml does not exist"),
    ("pytest -q tests/test_no_such.py", "tests/test_no_such.py does not exist"),
    ("pytest -q tests/test_no_such_*.py", "matches no file"),
    ("scripts/docker-engine.sh --no-such-option", "no option --no-such-option"),
    ("evoforg tasks list", "unknown program 'evoforg'"),
    ("evoforge tasks list   # [sloow]", "unknown tag"),
])
def test_checker_reports_what_does_not_exist(tmp_path: Path, line: str, expected: str) -> None:
    problems = _problems(tmp_path, _bash(line))
    assert any(expected in p for p in problems), problems


def test_checker_reports_prose_links_and_unfenced_commands(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A heading\n")
    problems = _problems(tmp_path, "# Doc\n\nRun `evoforge runs frob RUN_ID` to delete.\n"
                                   "See [other](other.md#a-heading), [gone](gone.md), [bad](other.md#nowhere).\n"
                                   "```\nevoforge tasks list\n```\n")
    assert any("no command 'frob'" in p for p in problems)
    assert any("gone.md does not exist" in p for p in problems)
    assert any("#nowhere" in p for p in problems)
    assert not any("#a-heading" in p for p in problems)
    assert any("fenced as ```bash" in p for p in problems)


def test_checker_checks_python_imports_and_config_examples(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "```python\nfrom agent.llm import LLMClient, NoSuchThing\n```\n"
                                   "```yaml\n# ~/.config/evoforge/llm.yaml\nno_such_key: 1\n```\n")
    assert any("has no NoSuchThing" in p for p in problems)
    assert not any("LLMClient" in p for p in problems)
    assert any("llm.yaml example does not load" in p for p in problems)


def test_synopsis_tags_and_suite_commands_are_not_run() -> None:
    block = Block(Path("doc.md"), 1, "bash", [
        "evoforge tasks list", "evoforge runs show RUN_ID", "pytest -q tests/test_docs.py",
        "python -m tasks.mle_lite.reference_field --seeds SEED", "evoforge train x.yaml --set rl.lr=LR",
        "evoforge train trainer/configs/gpu_small.yaml  # [gpu]", "evoforge tasks list --json  # [slow]",
        "cat > x.json <<'EOF'", "{}", "EOF",
    ])
    cmds = commands(block)
    assert [c.text for c in cmds][-1] == "cat > x.json <<'EOF'" and cmds[-1].heredoc == ["{}", "EOF"]
    run = [c.text for c in cmds if doccheck.runnable(c, slow=False, docker=False)]
    assert run == ["evoforge tasks list", "cat > x.json <<'EOF'"]
    run_slow = [c.text for c in cmds if doccheck.runnable(c, slow=True, docker=False)]
    assert "evoforge tasks list --json" in run_slow
    assert resolve("evoforge runs show RUN_ID", "x").synopsis


def test_a_failing_block_fails_and_a_tagged_one_is_skipped(tmp_path: Path, doc_env: DocEnv) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(_bash("evoforge tasks list --json > list.json", "test -s list.json", "false   # [manual]"))
    assert doc_env.run_doc(doc) == []
    doc.write_text(_bash("echo before", "false", "echo after"))
    problems = doc_env.run_doc(doc)
    assert len(problems) == 1 and "block exited 1" in problems[0] and "before" in problems[0]
    assert "\nafter" not in problems[0].split("--- output")[1]

"""The lessons memory (agent/memory.py): critiques filed by family and by tool, deduplicated with their runs,
and the lessons relevant to a task's family put first in its prompt."""

from __future__ import annotations

from agent import memory

CRITIQUE = """\
### What worked
- Gradient boosting beat the linear model by 0.02 AUC on this table.
### What failed
- run_python was killed at its 600 s limit while fitting 2000 trees.
### What to try next
- Try target encoding for the high-cardinality columns.
"""


def test_critiques_become_lessons_by_family_and_tool_deduplicated_with_their_runs(tmp_path):
    mem = tmp_path / "MEMORY.md"
    first = memory.record_reflection(CRITIQUE, "tabular-playground-series-may-2022", "r1", mem)
    assert {(les.kind, les.scope) for les in first} == {("worked", "family: tabular"), ("failed", "tool: run_python"),
                                                     ("next", "family: tabular")}
    assert memory.record_reflection(CRITIQUE, "tabular-playground-series-may-2022", "r1", mem) == []  # once per run
    again = CRITIQUE.replace("0.02", "0.03").replace("600 s", "900 s")   # the same lessons, other numbers
    memory.record_reflection(again, "leaf-classification", "r2", mem)
    lessons = memory.load(mem)
    assert len(lessons) == 3 and all(les.runs == ["r1", "r2"] for les in lessons)
    tool = next(les for les in lessons if les.scope == "tool: run_python")
    assert tool.families == ["tabular"]
    assert memory.recorded_runs(mem) == {"r1", "r2"}
    text = mem.read_text()
    assert "## family: tabular" in text and "## tool: run_python" in text and "(runs: r1, r2" in text


def test_prompt_gets_the_lessons_of_its_family_first_within_its_budget(tmp_path):
    mem = tmp_path / "MEMORY.md"
    memory.record_reflection(CRITIQUE, "leaf-classification", "r1", mem)
    memory.record_reflection("### What worked\n- TF-IDF with character n-grams beat word n-grams.\n",
                             "spooky-author-identification", "r2", mem)
    tab = memory.lessons_for("tabular", 4000, mem)
    assert "Gradient boosting" in tab and "run_python" in tab and "TF-IDF" not in tab
    txt = memory.lessons_for("text", 4000, mem)
    assert txt.index("TF-IDF") < txt.index("run_python") and "Gradient boosting" not in txt
    assert "(seen on other families)" in txt                       # the tool lesson came from a tabular task
    short = memory.lessons_for("tabular", 120, mem)
    assert 0 < len(short) <= 120
    assert memory.lessons_for("tabular", 0, mem) == ""

"""The evolve view: an evolve run's lineage as a tree (kept, reverted, broken, refused), its dev score by round,
the held-out result once `evolve report` has run, and one node in full (evidence and diff, NodeScreen).

Everything comes from the run's folder (agent.evolve.store) and its git repository, read through the evolve
package's own functions (agent.evolve.summary, agent.evolve.report); the lineage file and the state are looked
at every POLL_S (read when they changed, and every LIVE_S) and new nodes are added to the tree in place.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, Tree

from agent.evolve.store import EvolveStore
from agent.evolve.summary import DECISION_MARK, node_detail, node_label, per_task, status_row
from agent.tui.keys import HELP, KeyLine, go_back
from agent.tui.render import bar, sparkline
from agent.tui.timeline import file_sig

POLL_S = 1.0
LIVE_S = 5.0


def _fmt(x: Any, spec: str = ".1f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def evolve_row(store: EvolveStore) -> dict[str, str]:
    """The home screen's row of an evolve run: status and stage, the head's dev score, decisions, rounds."""
    from agent.evolve.report import dev_by_round

    st, plan, nodes = status_row(store), store.plan(), store.nodes()
    by_round = dev_by_round(nodes)
    head = by_round[-1]["head_pct"] if by_round else None
    decided = max(0, len(nodes) - 1)
    status = str(st["status"] or "created") + (f": {st['stage']}" if st["status"] == "running" and st["stage"] else "")
    return {"key": f"evolve/{store.name}", "run_id": store.name, "kind": "evolve", "status": str(status),
            "score": f"{head:.1f} pct" if head is not None else "-",
            "medal": f"✓{st['kept']} ✗{st['reverted']} !{st['broken']}",
            "budget": f"{bar(decided, plan.rounds or 1, 6)} r{decided}/{plan.rounds}", "task": ",".join(plan.dev),
            "started": plan.created}


def dev_chart(nodes: list[dict[str, Any]]) -> str:
    """Dev score by round as two sparklines: the lineage head's and each round's candidate's (· none)."""
    from agent.evolve.report import dev_by_round

    rows = dev_by_round(nodes)
    if not rows:
        return "dev by round: no round decided yet"
    heads = [r["head_pct"] for r in rows if r["head_pct"] is not None]
    cands = [r["candidate_pct"] for r in rows]
    known = [c for c in cands if c is not None]
    spark = iter(sparkline(known, width=len(known) or 1)) if known else iter(())
    cand_line = "".join(next(spark) if c is not None else "·" for c in cands)[-40:]
    first, last = (heads[0], heads[-1]) if heads else (None, None)
    return (f"dev head  {sparkline(heads, 40)}  {_fmt(first)} → {_fmt(last)} pct over {len(rows) - 1} round(s)\n"
            f"candidate {cand_line}  best {_fmt(max(known) if known else None)}")


def heldout_line(report: dict[str, Any] | None, name: str) -> str:
    """The held-out arms (initial, final, control) and the final's paired deltas, or how to get them."""
    h = (report or {}).get("heldout")
    if not h:
        return f"held out: not evaluated yet (evoforge evolve report {name})"
    arm = {k: f"{k} {_fmt(a['mean_pct'])} ({_fmt(a['ci_low'])}..{_fmt(a['ci_high'])})" for k, a in h["arms"].items()}
    pairs = " · ".join(f"{k.replace('final_vs_', 'final−')} {_fmt(p['mean_delta'], '+.1f')} p={_fmt(p['p_value'], '.2f')}"
                       for k, p in h["paired"].items() if k.startswith("final_vs_"))
    control = h["arms"].get("control") or {}
    return (f"held out: {arm.get('initial')} · {arm.get('final')}\n"
            f"  {pairs} · control {_fmt(control.get('mean_pct'))} (k={h['control']['k']})")


class EvolveScreen(Screen):
    """An evolve run: the lineage tree, dev by round, held out; enter opens a node (evidence and diff)."""

    BINDINGS = [
        HELP,
        Binding("escape,q", "back", "Back"),
        Binding("enter", "open", "Evidence and diff"),
        Binding("P", "plot", "Plots"),
    ]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.store = EvolveStore(Path(root))
        self.nodes: list[dict[str, Any]] = []
        self.by_commit: dict[str, Any] = {}          # commit -> its tree node
        self._sig: tuple = ()
        self.report: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="title", classes="lines")
        yield Static(id="chart", classes="lines")
        yield Static(id="heldout", classes="lines")
        tree: Tree[dict] = Tree("lineage", id="lineage")
        tree.show_root = False
        tree.guide_depth = 2
        tree.auto_expand = False
        yield tree
        yield Static(id="node")
        yield KeyLine(id="keys")

    def on_mount(self) -> None:
        self.poll()
        self.set_interval(POLL_S, self.poll)
        self.query_one("#lineage", Tree).focus()

    def poll(self) -> None:
        """Take in new nodes, the state and a new report, if the run's files changed."""
        sig = tuple(file_sig(self.store.path(f)) for f in ("nodes.jsonl", "state.json", "owner.lock",
                                                          "report/report.json"))
        sig += (int(time.monotonic() // LIVE_S),)          # and every LIVE_S: an owner killed leaves no trace
        if sig == self._sig:
            return
        self._sig = sig
        from agent.evolve import report

        nodes = self.store.nodes()
        self.report = report.load(self.store)
        tree = self.query_one("#lineage", Tree)
        for n in nodes[len(self.nodes):]:
            parent = self.by_commit.get(n.get("parent"), tree.root)
            label = _tree_label(n)
            if n.get("decision") in ("initial", "kept"):
                item = parent.add(label, data=n, expand=True)
            else:
                item = parent.add_leaf(label, data=n)
            if n.get("commit") and n.get("decision") in ("initial", "kept"):
                self.by_commit[n["commit"]] = item
        if len(nodes) > len(self.nodes) and tree.cursor_line < 0:
            tree.cursor_line = 0
        self.nodes = nodes
        st = status_row(self.store)
        plan = self.store.plan()
        self.query_one("#title", Static).update(Text.assemble(
            (f"evolve {self.store.name}", "bold"), " · ", (str(st["status"] or "created").upper(), "reverse"),
            f" · round {st['round']}" + (f" ({st['stage']})" if st["status"] == "running" else "")
            + f" · kept {st['kept']} reverted {st['reverted']} broken {st['broken']}\n",
            f"{plan.proposer} proposer · dev {', '.join(plan.dev)} × {plan.seeds} seed(s) · held out "
            f"{', '.join(plan.heldout) or '-'} · {plan.test} at {plan.confidence:.0%}", no_wrap=True,
            overflow="ellipsis"))
        self.query_one("#chart", Static).update(dev_chart(nodes))
        self.query_one("#heldout", Static).update(Text(heldout_line(self.report, self.store.name), no_wrap=True,
                                                       overflow="ellipsis"))
        self._show_node(tree.cursor_node.data if tree.cursor_node else None)

    @on(Tree.NodeHighlighted, "#lineage")
    def highlighted(self, message: Tree.NodeHighlighted) -> None:
        """The line under the tree follows the cursor."""
        self._show_node(message.node.data)

    def _show_node(self, n: dict[str, Any] | None) -> None:
        if not n:
            self.query_one("#node", Static).update("")
            return
        what = " ".join(str(n.get("hypothesis") or "").split())
        why = " ".join(str(n.get("reason") or "").split())
        self.query_one("#node", Static).update(Text(f"r{n.get('round')} {n.get('decision')}: {what}"
                                                    + (f" — {why}" if why else "")))

    @on(Tree.NodeSelected, "#lineage")
    def selected(self, message: Tree.NodeSelected) -> None:
        """Enter or a click opens the node's evidence and diff."""
        if message.node.data:
            self.app.push_screen(NodeScreen(self.store, message.node.data))

    def action_open(self) -> None:
        """Open the node under the cursor."""
        node = self.query_one("#lineage", Tree).cursor_node
        if node is not None and node.data:
            self.app.push_screen(NodeScreen(self.store, node.data))

    def action_plot(self) -> None:
        """The lineage and dev-by-round PNGs (agent.plots) into the run's report/ folder."""
        from agent import plots

        if not plots.available():
            self.notify("matplotlib is not installed: pip install 'evoforge[plots]'", severity="warning")
            return
        if not self.nodes:
            self.notify("no node decided yet", severity="warning")
            return
        folder = self.store.path("report")
        folder.mkdir(exist_ok=True)
        written = [plots.plot_lineage(self.nodes, folder / "lineage.png"),
                   plots.plot_dev_by_round(self.nodes, folder / "dev_by_round.png")]
        self.notify("wrote " + ", ".join(str(p) for p in written))

    def action_back(self) -> None:
        """Back to the list (or quit when this was the first screen)."""
        go_back(self.app)


def _tree_label(n: dict[str, Any]) -> Text:
    """A node's line in the tree (its decision as a mark and a word, so it reads without colour)."""
    style = {"kept": "green", "reverted": "dim", "broken": "red", "refused": "red", "initial": "bold"}
    return Text(node_label(n, width=80), style=style.get(str(n.get("decision")), ""), no_wrap=True)


class NodeScreen(Screen):
    """One node: hypothesis, decision, paired dev delta with its confidence, per-task results, gate, diff."""

    BINDINGS = [
        HELP,
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("d", "jump('diff')", "Diff"),
        Binding("e", "jump('evidence')", "Evidence"),
    ]

    def __init__(self, store: EvolveStore, node: dict[str, Any]) -> None:
        super().__init__()
        self.store, self.node = store, node

    def compose(self) -> ComposeResult:
        n = self.node
        yield Static(Text.assemble((f"round {n.get('round')} · {str(n.get('commit') or '-')[:10]}", "bold"), " · ",
                                   (f"{DECISION_MARK.get(n.get('decision'), '?')} {n.get('decision')}", "reverse")),
                     id="title")
        with VerticalScroll(id="node-body"):
            yield Static(evidence_text(self.store, n), id="evidence")
            yield Static(self._diff(), id="diff")
        yield KeyLine(id="keys")

    def _diff(self) -> Text:
        commit = self.node.get("commit")
        if not commit:
            return Text("\n── diff ──\n(no commit: nothing was changed)")
        detail = node_detail(self.store, commit)
        return Text("\n── commit ──\n", style="bold") + Text(detail["message"].rstrip()) + \
            Text("\n\n── diff ──\n", style="bold") + diff_text(detail["diff"] or "(no change against the parent)")

    def action_jump(self, part: str) -> None:
        """Scroll to the evidence or to the diff."""
        self.query_one("#node-body", VerticalScroll).scroll_to_widget(self.query_one(f"#{part}"), animate=False,
                                                                      top=True)


def diff_text(diff: str) -> Text:
    """A unified diff with added lines green and removed ones red (the + and - say it without colour)."""
    out = Text()
    for line in diff.splitlines():
        style = ("bold" if line.startswith(("diff ", "+++", "---")) else "green" if line.startswith("+")
                 else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else "")
        out.append(line + "\n", style=style)
    return out


def evidence_text(store: EvolveStore, n: dict[str, Any]) -> Text:
    """Why the node was decided as it was: hypothesis, paired dev delta and its confidence, dev arms, per-task
    results against the parent, the gate's checks, the time spent."""
    lines = [f"[bold]hypothesis[/] {escape(' '.join(str(n.get('hypothesis') or '-').split()))}"]
    if n.get("files"):
        lines.append(f"[bold]files[/] {escape(', '.join(n['files']))}")
    lines.append(f"[bold]decision[/] {escape(str(n.get('decision')))}: {escape(str(n.get('reason') or '-'))}")
    p = n.get("paired") or {}
    if p.get("n_cells"):
        lines.append(f"[bold]paired dev delta[/] {p['mean_delta']:+.2f} percentile points, {p['confidence']:.0%} CI "
                     f"{p['ci_low']:+.2f}..{p['ci_high']:+.2f}, p={p['p_value']:.3f} ({p['test']}; "
                     f"{'confident' if p['confident'] else 'not confident'}) over {p['n_tasks']} task(s) / "
                     f"{p['n_cells']} cell(s); wins {p['wins']}, losses {p['losses']}, ties {p['ties']}")
    for arm, d in (n.get("dev") or {}).items():
        lines.append(f"[bold]dev {arm}[/] {_fmt(d.get('mean_pct'))} ± {_fmt(d.get('se'))} pct · valid "
                     f"{_fmt(100 * d.get('valid_rate', math.nan), '.0f')}% · medal "
                     f"{_fmt(100 * d.get('medal_rate', math.nan), '.0f')}% · {d.get('n')} attempt(s)")
    tasks = per_task(store, n) if n.get("commit") else []
    if tasks:
        lines.append("[bold]per task[/]  parent → child (delta) · valid · medals")
        for t in tasks:
            lines.append(f"  {escape(t['task'])}: {_fmt(t['parent_pct'])} → {_fmt(t['child_pct'])} "
                         f"({_fmt(t['delta'], '+.1f')}) · {t['valid']}/{t['seeds']} valid · {t['medals']} medal(s)")
    gate = n.get("gate")
    if gate:
        checks = "  ".join(f"{'✓' if c['ok'] else '✗'} {c['name']}" for c in gate.get("checks", []))
        lines.append(f"[bold]gate[/] {'passed' if gate.get('ok') else escape(str(gate.get('decision')))}: {checks}")
        lines += [f"  {escape(c['name'])}: {escape(str(c.get('detail'))[:300])}" for c in gate.get("checks", [])
                  if not c["ok"]]
    secs = n.get("seconds") or {}
    if secs:
        lines.append(f"[bold]time[/] {_fmt(secs.get('total'), '.0f')} s ({_fmt(secs.get('attempts'), '.0f')} s in "
                     f"attempts, {_fmt(secs.get('harness'), '.0f')} s harness)")
    return Text.from_markup("\n".join(lines))

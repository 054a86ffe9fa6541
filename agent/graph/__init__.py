"""One attempt at one competition: a LangGraph graph of plain functions over a typed state.

    from agent.graph.budgets import Budgets
    from agent.graph.runner import resume_run, start_run
    from agent.graph.spec import RunSpec

    store = start_run(RunSpec("spooky-author-identification", policy="heuristic", budgets=Budgets(max_turns=20)))
    store.read_meta()["status"]          # "finished" or "failed" (agent.graph.stops.StopKind says why)

Where things are: `spec.py` what a run is asked to do (meta.json's spec) · `runner.py` start and resume
(record, sandbox, policy, checkpointer) · `build.py` the nodes and their wiring: one turn, read top to
bottom · `state.py` the checkpointed state · `stops.py` why a run stops · `budgets.py` · `context.py`
compaction · `recovery.py` tool calls cut by a kill · `reflection.py` the rule-based self-critique ·
`policies/` who decides each turn (llm, heuristic, replay).
"""

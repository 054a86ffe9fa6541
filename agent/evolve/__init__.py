"""Self-evolution: the agent edits its own scaffold in git and keeps an edit only when a paired evaluation
says it helps (see docs/EVOLVE.md).

    config    the plan (task split, seeds, rounds, budget, decision rule)
    store     the run's folder: state, lineage, evaluation cache, events, the one-owner lock
    repo      the scaffold's git repository (gitpython)
    evaluate  attempts per (commit, task, seed, budget), cached; the Evaluator interface
    propose_heuristic, propose_llm   the two proposers; proposal: what they read and return
    scope, gate   what an edit may touch; the checks before any evaluation
    stats     clustered paired bootstrap, sign test, mean ± SE
    loop      the rounds: propose → gate → evaluate → decide
    report    held-out test with the control arm; promote: a node into the user's checkout
"""

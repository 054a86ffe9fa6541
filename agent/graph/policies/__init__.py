"""Policies: one function (state) -> AssistantTurn: llm, heuristic, replay."""

from agent.graph.policies.base import Policy, Windowed, Writer
from agent.graph.policies.heuristic import HeuristicPolicy
from agent.graph.policies.llm import LLMPolicy
from agent.graph.policies.replay import ReplayPolicy
from agent.graph.policies.rl_runs import RLRunsHeuristicPolicy

__all__ = ["HeuristicPolicy", "LLMPolicy", "Policy", "RLRunsHeuristicPolicy", "ReplayPolicy", "Windowed", "Writer"]

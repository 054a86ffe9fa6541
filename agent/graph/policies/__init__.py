"""Policies: one function (state) -> AssistantTurn: llm, heuristic, replay."""

from agent.graph.policies.base import Policy, Windowed, Writer
from agent.graph.policies.heuristic import HeuristicPolicy
from agent.graph.policies.llm import LLMPolicy
from agent.graph.policies.replay import ReplayPolicy

__all__ = ["HeuristicPolicy", "LLMPolicy", "Policy", "ReplayPolicy", "Windowed", "Writer"]

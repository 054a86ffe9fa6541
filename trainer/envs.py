"""Verifiable environments: problems generated on the fly, exact code-checked rewards, SFT warm-up targets.

Every environment turns a `random.Random` into a `Problem` (prompt text, what the checker needs, and a
reference solution for the supervised warm-up) and scores a completion with `reward(problem, text)`.
`text` is the completion before its EOS, or None when the model never stopped (reward 0). Checkers parse
strictly: the whole completion must match the answer grammar, so padding, repeats or extra text score 0.

  arithmetic  "add:482+39="      -> "521"          (level = max digits per operand; + and -)
  countdown   "cd:3,7,25;46="    -> "25+3*7"       (level = how many numbers; use each at most once, + - * ())
  sort        "sort:52,7,31="    -> "7,31,52"      (level = list length; numbers 0..99)
  sort_lognormal  the same with log-normal list lengths (level = median length; heavy-tailed answers)
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

_INT = re.compile(r"-?(0|[1-9][0-9]*)")


@dataclass
class Problem:
    """One generated task: the prompt, the checker's data and a reference solution (SFT target)."""

    prompt: str
    solution: str
    data: dict = field(default_factory=dict)


class Env:
    """Base class: `sample` a problem, `reward` a completion (1.0 correct, 0.0 otherwise)."""

    name = "env"

    def __init__(self, level: int = 2) -> None:
        if level < 1:
            raise ValueError(f"{self.name}: level must be >= 1")
        self.level = level

    def sample(self, rng: random.Random) -> Problem:
        """A fresh problem drawn from rng."""
        raise NotImplementedError

    def check(self, problem: Problem, text: str) -> bool:
        """Whether `text` (the completion before EOS) is a correct answer."""
        raise NotImplementedError

    def reward(self, problem: Problem, text: str | None) -> float:
        """1.0 if the completion is a correct, well-formed answer, else 0.0 (None = no EOS = 0)."""
        if text is None:
            return 0.0
        try:
            return 1.0 if self.check(problem, text) else 0.0
        except (ValueError, RecursionError):
            return 0.0

    def max_answer_chars(self) -> int:
        """An upper bound on a correct answer's length (for max_new_tokens)."""
        raise NotImplementedError


def _number(rng: random.Random, max_digits: int) -> int:
    digits = rng.randint(1, max_digits)
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10 ** digits - 1)


class Arithmetic(Env):
    """Multi-digit addition and subtraction; the answer is the exact integer in canonical form."""

    name = "arithmetic"

    def sample(self, rng: random.Random) -> Problem:
        a, b = _number(rng, self.level), _number(rng, self.level)
        op = rng.choice("+-")
        value = a + b if op == "+" else a - b
        return Problem(prompt=f"add:{a}{op}{b}=", solution=str(value), data={"value": value})

    def check(self, problem: Problem, text: str) -> bool:
        return _INT.fullmatch(text) is not None and int(text) == problem.data["value"]

    def max_answer_chars(self) -> int:
        return self.level + 2


class _ExprParser:
    """Recursive-descent parser for  expr := term (('+'|'-') term)* ; term := factor ('*' factor)* ;
    factor := number | '(' expr ')'. Numbers have no sign and no leading zeros. Evaluates exactly (ints)."""

    def __init__(self, text: str) -> None:
        self.s, self.i, self.numbers = text, 0, []

    def parse(self) -> int:
        value = self._expr(0)
        if self.i != len(self.s):
            raise ValueError(f"unexpected {self.s[self.i]!r} at {self.i}")
        return value

    def _peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def _expr(self, depth: int) -> int:
        value = self._term(depth)
        while self._peek() in ("+", "-"):
            op = self.s[self.i]
            self.i += 1
            rhs = self._term(depth)
            value = value + rhs if op == "+" else value - rhs
        return value

    def _term(self, depth: int) -> int:
        value = self._factor(depth)
        while self._peek() == "*":
            self.i += 1
            value *= self._factor(depth)
        return value

    def _factor(self, depth: int) -> int:
        if depth > 20:
            raise ValueError("nesting too deep")
        if self._peek() == "(":
            self.i += 1
            value = self._expr(depth + 1)
            if self._peek() != ")":
                raise ValueError("missing ')'")
            self.i += 1
            return value
        m = re.compile(r"0|[1-9][0-9]*").match(self.s, self.i)
        if m is None:
            raise ValueError(f"expected a number at {self.i}")
        self.i = m.end()
        self.numbers.append(int(m.group()))
        return int(m.group())


def eval_expression(text: str) -> tuple[int, list[int]]:
    """Value of a countdown expression and the numbers it uses; ValueError if it does not parse."""
    if not text or len(text) > 64:
        raise ValueError("empty or too long")
    p = _ExprParser(text)
    return p.parse(), p.numbers


class Countdown(Env):
    """Make the target from the given numbers with + - * and parentheses, each number used at most once."""

    name = "countdown"

    def __init__(self, level: int = 3) -> None:
        super().__init__(max(2, level))

    def sample(self, rng: random.Random) -> Problem:
        while True:
            nums = [rng.randint(1, 25) for _ in range(self.level)]
            order = nums[:]
            rng.shuffle(order)
            expr = str(order[0])
            for n in order[1:]:
                expr += rng.choice("+-*") + str(n)
            value, _ = eval_expression(expr)
            if 0 < value < 1000:
                return Problem(prompt=f"cd:{','.join(map(str, nums))};{value}=", solution=expr,
                               data={"numbers": nums, "target": value})

    def check(self, problem: Problem, text: str) -> bool:
        value, used = eval_expression(text)
        pool = list(problem.data["numbers"])
        for n in used:
            if n not in pool:
                return False
            pool.remove(n)
        return value == problem.data["target"]

    def max_answer_chars(self) -> int:
        return 3 * self.level + 2 * self.level + 4


class Sort(Env):
    """Sort a comma-separated list of integers ascending; the answer must be the exact canonical list."""

    name = "sort"

    def sample(self, rng: random.Random) -> Problem:
        nums = [rng.randint(0, 99) for _ in range(self.level)]
        return Problem(prompt=f"sort:{','.join(map(str, nums))}=", solution=",".join(map(str, sorted(nums))),
                       data={"numbers": nums})

    def check(self, problem: Problem, text: str) -> bool:
        return text == ",".join(map(str, sorted(problem.data["numbers"])))

    def max_answer_chars(self) -> int:
        return 3 * self.level


class SortLogNormal(Sort):
    """Sort with heavy-tailed list lengths: log-normal with median `level` and shape 1, clipped to [1, 8 * level].

    The answer grows with the list, so a trained policy's completion lengths are heavy-tailed (mostly short,
    a few up to 8x the median): the regime the asynchronous rollout schedulers are compared in.
    """

    name = "sort_lognormal"
    sigma = 1.0

    def sample(self, rng: random.Random) -> Problem:
        n = max(1, min(8 * self.level, round(rng.lognormvariate(math.log(self.level), self.sigma))))
        nums = [rng.randint(0, 99) for _ in range(n)]
        return Problem(prompt=f"sort:{','.join(map(str, nums))}=", solution=",".join(map(str, sorted(nums))),
                       data={"numbers": nums})

    def max_answer_chars(self) -> int:
        return 3 * 8 * self.level


ENVS: dict[str, type[Env]] = {"arithmetic": Arithmetic, "countdown": Countdown, "sort": Sort,
                              "sort_lognormal": SortLogNormal}


def make_env(name: str, level: int) -> Env:
    """The environment registered as `name` at difficulty `level`."""
    if name not in ENVS:
        raise ValueError(f"unknown environment {name!r} (choose from {sorted(ENVS)})")
    return ENVS[name](level)


def sft_examples(env: Env, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """n (prompt, reference solution) pairs for the supervised warm-up."""
    out = []
    for _ in range(n):
        p = env.sample(rng)
        out.append((p.prompt, p.solution))
    return out

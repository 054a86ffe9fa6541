"""Text normalisation (token -> spoken form) learned from the training pairs alone.

A token seen in training gets its most frequent normalisation (optionally the one seen with the same
neighbour). An unseen token is explained by what the training pairs teach, with no language built in:
- a character map (each character spelled as a word: "B" -> "b", "8" -> "eight", "-" -> "sil") from
  pairs whose normalisation has one word per character;
- number words: the learned readings of small numbers composed into larger ones (hundreds, then scale
  words such as thousand/million learned from the larger numbers seen), ordinals by the learned change of
  the last word, and four-digit numbers read as two pairs (years);
- templates per token shape (digit runs, capital runs and literal text): how the training tokens of
  that shape were read, e.g. "$<n>" -> "<n as number> dollars", "<n>.<m>" -> "<n> point <m spelled>".
Anything still unexplained is copied unchanged.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter, defaultdict

import numpy as np
import pandas as pd

SEGMENT = re.compile(r"(\d+)|([A-Z]+(?![a-z]))|([^\W\d_]+)|(\s+)|(.)", re.S)
MODES = {"D": ("card", "ord", "year", "spell"), "U": ("spell", "lower")}
SLOT = re.compile(r"\{(\d+):(\w+)\}")


def segments(token: str) -> list[tuple[str, str]]:
    """The token as (type, text) runs: D digits, U capitals, L literal text."""
    out = []
    for m in SEGMENT.finditer(token):
        digits, caps = m.group(1), m.group(2)
        out.append(("D", digits) if digits else ("U", caps) if caps and len(caps) > 1 else ("L", m.group(0)))
    return out


def shape(segs: list[tuple[str, str]]) -> tuple:
    """The shape key: digit runs by length, capital runs, literal text as itself."""
    return tuple(f"D{len(t)}" if k == "D" else "U" if k == "U" else "L" + t for k, t in segs)


def _top(counter: Counter):
    return counter.most_common(1)[0] if counter else (None, 0)


class Normaliser:
    """Lookup tables with context, backed off to learned spelling, number words and templates."""

    def __init__(self, context: bool = False, spell_out: bool = False, numbers: bool = False, min_count: int = 1):
        self.context, self.spell_out, self.numbers, self.min_count = context, spell_out, numbers, min_count

    # ---- learning --------------------------------------------------------------------------------------
    def fit(self, before: list[str], after: list[str], prev: list[str], nxt: list[str]) -> Normaliser:
        """Learn from aligned (token, normalisation) pairs and each token's neighbours."""
        self.memo: dict[str, Counter] = defaultdict(Counter)
        self.ctx: dict[tuple, Counter] = defaultdict(Counter)
        for b, a, p, n in zip(before, after, prev, nxt, strict=True):
            self.memo[b][a] += 1
            if self.context:
                self.ctx[("<", p, b)][a] += 1
                self.ctx[(">", b, n)][a] += 1
        self.best = {b: _top(c)[0] for b, c in self.memo.items()}
        if self.spell_out or self.numbers:
            self._learn_rules(before, after)
        return self

    def _learn_rules(self, before: list[str], after: list[str]) -> None:
        nums: dict[int, Counter] = defaultdict(Counter)
        for b, a in zip(before, after, strict=True):
            if a != b and b.isdigit() and (b == "0" or not b.startswith("0")) and not any(c.isdigit() for c in a):
                nums[int(b)][a] += 1
        readings = {n: _top(c)[0] for n, c in nums.items()}
        chars: dict[str, Counter] = defaultdict(Counter)
        for b, a in zip(before, after, strict=True):
            words = a.split()
            if a == b or len(b) < 2 or " " in b or len(words) != len(b):
                continue
            if b.isdigit() and readings.get(int(b)) == a:   # a number read as a number is not spelling
                continue
            for ch, w in zip(b, words, strict=True):
                chars[ch][w] += 1
        self.chars = {c: _top(v)[0] for c, v in chars.items()}
        self.small = {n: r for n, r in readings.items() if n < 1000}
        tens: dict[int, Counter] = defaultdict(Counter)
        for n, r in self.small.items():
            unit = self.small.get(n % 10)
            if 20 <= n < 100 and n % 10 and unit and r.endswith(" " + unit):
                tens[n // 10][r[: -len(unit) - 1]] += 1
        self.tens = {t: _top(c)[0] for t, c in tens.items()}
        heads: dict[int, Counter] = defaultdict(Counter)
        self.hundreds: dict[int, str] = {}
        self.hundred = Counter()
        for n, r in sorted(self.small.items()):
            if n < 100:
                continue
            h, rest = divmod(n, 100)
            tail = self.card(rest) if rest else ""
            if tail is not None and (not rest or r.endswith(" " + tail)):
                head = r[: -len(tail) - 1] if rest else r
                heads[h][head] += 1
                if self.small.get(h) and head.startswith(self.small[h] + " "):
                    self.hundred[head[len(self.small[h]) + 1:]] += 1
        self.hundreds = {k: _top(c)[0] for k, c in heads.items()}
        self.phrases: dict[tuple, str] = {}
        self.scales: dict[tuple, Counter] = defaultdict(Counter)
        for n in sorted(k for k in nums if k >= 1000):
            a = _top(nums[n])[0]
            k = int(np.log10(n) // 3)
            g, rest = divmod(n, 1000 ** k)
            phrase = a
            if rest:
                tail = self.card(rest)
                if not tail or not a.endswith(" " + tail):
                    continue
                phrase = a[: -len(tail) - 1]
            self.phrases.setdefault((k, g), phrase)
            head = self.card(g)
            if head and phrase.startswith(head + " "):
                self.scales[(k, self._key(g))][phrase[len(head) + 1:]] += 1
                self.scales[(k, None)][phrase[len(head) + 1:]] += 1
        self.ordinal: dict[str, Counter] = defaultdict(Counter)
        for b, a in zip(before, after, strict=True):
            segs = segments(b)
            digits = [t for k, t in segs if k == "D"]
            if len(digits) != 1 or a == b:
                continue
            card = self.card(int(digits[0]))
            if not card:
                continue
            cw, aw = card.split(), a.split()
            for start in range(0, len(aw) - len(cw) + 1):
                if aw[start:start + len(cw) - 1] == cw[:-1] and aw[start + len(cw) - 1] != cw[-1]:
                    self.ordinal[cw[-1]][aw[start + len(cw) - 1]] += 1
                    break
        self.templates: dict[tuple, Counter] = defaultdict(Counter)
        for b, a in zip(before, after, strict=True):
            segs = segments(b)
            if any(k in "DU" for k, _ in segs):
                t = self._template(segs, a)
                if t is not None:
                    self.templates[shape(segs)][t] += 1

    @staticmethod
    def _key(g: int):
        return g % 100 if 10 <= g % 100 <= 19 else g % 10

    def _template(self, segs: list, after: str) -> str | None:
        slots = [i for i, (k, _) in enumerate(segs) if k in "DU"]
        if len(slots) > 4:
            return None
        for modes in itertools.product(*[MODES[segs[i][0]] for i in slots]):
            text = f" {after} "
            ok = True
            order = sorted(zip(slots, modes, strict=True), key=lambda sm: -len(self.say(segs[sm[0]], sm[1]) or ""))
            for i, mode in order:
                said = self.say(segs[i], mode)
                if not said or f" {said} " not in text:
                    ok = False
                    break
                text = text.replace(f" {said} ", f" {{{i}:{mode}}} ", 1)
            if ok:
                return text.strip()
        return None

    # ---- saying things ---------------------------------------------------------------------------------
    def card(self, n: int) -> str | None:
        """The learned reading of a whole number (None when the pieces were never seen)."""
        if n < 1000 and n in self.small:
            return self.small[n]
        if n < 100:
            t, u = divmod(n, 10)
            tens, unit = self.tens.get(t), self.small.get(u)
            return None if tens is None or (u and unit is None) else f"{tens} {unit}" if u else tens
        if n < 1000:
            h, r = divmod(n, 100)
            head = self.hundreds.get(h)
            if head is None and self.small.get(h) and self.hundred:
                head = f"{self.small[h]} {_top(self.hundred)[0]}"
            tail = self.card(r) if r else ""
            return None if head is None or tail is None else f"{head} {tail}".strip()
        k = int(np.log10(n) // 3)
        g, rest = divmod(n, 1000 ** k)
        phrase = self.phrases.get((k, g))
        if phrase is None:
            head = self.card(g)
            word = _top(self.scales.get((k, self._key(g)), Counter()) or self.scales.get((k, None), Counter()))[0]
            if head is None or word is None:
                return None
            phrase = f"{head} {word}"
        tail = self.card(rest) if rest else ""
        return None if tail is None else f"{phrase} {tail}".strip()

    def say(self, seg: tuple[str, str], mode: str) -> str | None:
        """One digit or capital run read in a mode (card, ord, year, spell, lower)."""
        kind, text = seg
        if mode == "spell":
            words = [self.chars.get(c) for c in text]
            return " ".join(words) if all(words) else None
        if mode == "lower":
            return text.lower()
        if kind != "D" or (len(text) > 1 and text.startswith("0")):
            return None
        n = int(text)
        if mode == "card":
            return self.card(n)
        if mode == "ord":
            card = self.card(n)
            if not card:
                return None
            words = card.split()
            last = _top(self.ordinal.get(words[-1], Counter()))[0]
            return " ".join(words[:-1] + [last]) if last else None
        if mode == "year" and len(text) == 4:
            hi, lo = divmod(n, 100)
            head = self.card(hi)
            if lo == 0:
                tail = _top(self.hundred)[0] if self.hundred else None
            elif lo < 10:
                tail = f"{self.chars.get('0')} {self.card(lo)}" if self.chars.get("0") and self.card(lo) else None
            else:
                tail = self.card(lo)
            return f"{head} {tail}" if head and tail else None
        return None

    def _unseen(self, token: str) -> str:
        segs = segments(token)
        if not (self.spell_out or self.numbers) or not any(k in "DU" for k, _ in segs):
            return token
        for template, _ in self.templates.get(shape(segs), Counter()).most_common(3):
            filled, ok = template, True
            for m in SLOT.finditer(template):
                i, mode = int(m.group(1)), m.group(2)
                if mode in ("card", "ord", "year") and not self.numbers or mode == "spell" and not self.spell_out:
                    ok = False
                    break
                said = self.say(segs[i], mode) if i < len(segs) else None
                if said is None:
                    ok = False
                    break
                filled = filled.replace(m.group(0), said, 1)
            if ok:
                return filled
        return token

    def predict(self, before: list[str], prev: list[str], nxt: list[str]) -> list[str]:
        """The normalisation of each token."""
        out = []
        for b, p, n in zip(before, prev, nxt, strict=True):
            guess = self.best.get(b)
            if guess is None:
                out.append(self._unseen(b))
                continue
            if self.context:
                total = sum(self.memo[b].values())
                share = _top(self.memo[b])[1] / total
                for key in (("<", p, b), (">", b, n)):
                    a, c = _top(self.ctx.get(key, Counter()))
                    if a is not None and c >= self.min_count and c / sum(self.ctx[key].values()) > share:
                        guess, share = a, c / sum(self.ctx[key].values())
            out.append(guess)
        return out


def context(frame: pd.DataFrame, source: str) -> tuple[list[str], list[str], list[str]]:
    """Each row's token and the previous and next token of its sentence (rows kept in the frame's order)."""
    sent = [c for c in frame.columns if "sentence" in c.lower()]
    pos = [c for c in frame.columns if "token" in c.lower() and pd.api.types.is_integer_dtype(frame[c])]
    order = np.lexsort([frame[pos[0]].to_numpy(), frame[sent[0]].to_numpy()]) if sent and pos else np.arange(len(frame))
    tokens = frame[source].fillna("").astype(str).to_numpy(dtype=object)
    groups = frame[sent[0]].astype(str).to_numpy() if sent else np.zeros(len(frame))
    t, g = tokens[order], groups[order]
    first = np.r_[True, g[1:] != g[:-1]]
    last = np.r_[g[1:] != g[:-1], True]
    prev = np.where(first, "<s>", np.r_[["<s>"], t[:-1]]).astype(object)
    nxt = np.where(last, "</s>", np.r_[t[1:], ["</s>"]]).astype(object)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return list(tokens), list(prev[back]), list(nxt[back])


def run_sequence(problem, recipe: dict, book: dict, metric: str, time_limit: float, scale: float = 1.0) -> dict:
    """Cross-validate a normaliser over sentence groups and normalise the test tokens."""
    from .cv import folds

    t0 = time.monotonic()
    model = recipe["model"]
    source = problem.extra["source"]
    before, prev, nxt = context(problem.train, source)
    y = problem.y

    def make() -> Normaliser:
        if model["family"] == "prior":
            return Normaliser()
        return Normaliser(model["context"], model["spell_out"], model["numbers"], model["min_count"])

    def pick(xs: list, idx: np.ndarray) -> list:
        return [xs[i] for i in idx]

    rows = np.arange(len(y))
    if scale < 1.0:
        rows = np.sort(np.random.default_rng(book["cv"]["seed"]).choice(len(y), max(10, int(len(y) * scale)),
                                                                         replace=False))
    correct, seen, done = 0, 0, 0
    splits = folds(problem.task, y, problem.groups, rows, book["cv"]["folds"], book["cv"]["seed"])
    for k, (tr, va) in enumerate(splits):
        t_fold = time.monotonic()
        tr, va = rows[tr], rows[va]
        if model["family"] == "prior":
            pred = pick(before, va)
        else:
            norm = make().fit(pick(before, tr), list(y[tr]), pick(prev, tr), pick(nxt, tr))
            pred = norm.predict(pick(before, va), pick(prev, va), pick(nxt, va))
        correct += int(np.sum(np.asarray(pred, dtype=object) == y[va]))
        seen += len(va)
        done += 1
        print(f"fold {k + 1}/{len(splits)}: accuracy so far {correct / seen:.5f} ({time.monotonic() - t_fold:.1f}s)",
              flush=True)
        if k + 1 < len(splits) and time.monotonic() - t0 + (time.monotonic() - t_fold) > time_limit:
            print(f"stopping after {done} folds: the next would pass the time limit", flush=True)
            break
    test_before, t_prev, t_next = context(problem.test, source)
    if model["family"] == "prior":
        out = test_before
    else:
        out = make().fit(before, list(y), prev, nxt).predict(test_before, t_prev, t_next)
    submission = problem.submission({problem.columns[0]: np.asarray(out, dtype=object)})
    return {"cv": correct / max(seen, 1), "folds": done, "complete": done == len(splits), "rows": "all",
            "seconds": round(time.monotonic() - t0, 1), "submission": submission}

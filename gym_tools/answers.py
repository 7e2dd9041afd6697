"""Typed answer comparison: numbers with tolerance, names against the pack's vocabulary, sets.

Scores are shares, so hedging does not pay: naming more candidates than asked for divides the score.
"""

from __future__ import annotations

import re
from typing import Any

from envgen.models import Answer

ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.\-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
RELATIVE_TOLERANCE = 1e-4


def answer_span(text: str) -> str:
    """The last `<answer>` block when there is one, else the whole text."""
    found = ANSWER_TAG.findall(text)
    return found[-1] if found else text


def numbers_in(text: str) -> list[float]:
    return [float(match.replace(",", "")) for match in NUMBER.findall(text)]


def close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= max(tolerance, RELATIVE_TOLERANCE * abs(b))


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def normal(text: str) -> str:
    return " ".join(str(text).casefold().split())


class Vocabulary:
    """Every name and category value in a pack, found in free text as whole words."""

    def __init__(self, names: list[str]) -> None:
        ordered = sorted({normal(n) for n in names}, key=len, reverse=True)
        alternation = "|".join(re.escape(n) for n in ordered) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)

    def names_in(self, text: str) -> set[str]:
        return {normal(m) for m in self._pattern.findall(normal(text))}


def candidates(text: str, vocabulary: Vocabulary, expected: list[Any]) -> list[Any]:
    """Distinct values the text commits to: numbers and known names, plus expected strings found verbatim."""
    found: list[Any] = []
    for number in numbers_in(text):
        if not any(is_number(f) and close(f, number, 0.0) for f in found):
            found.append(number)
    names = vocabulary.names_in(text)
    folded = normal(text)
    for value in expected:
        if isinstance(value, str) and re.search(rf"(?<!\w){re.escape(normal(value))}(?!\w)", folded):
            names.add(normal(value))
    return found + sorted(names)


def matches(expected: Any, candidate: Any, tolerance: float) -> bool:
    if is_number(expected):
        return is_number(candidate) and close(float(candidate), float(expected), tolerance)
    return isinstance(candidate, str) and normal(expected) == candidate


def score_answer(answer: Answer, text: str | None, vocabulary: Vocabulary) -> float:
    """1.0 for exactly the expected value(s); a share when the text names others too; 0 when wrong."""
    if not text or not text.strip():
        return 0.0
    expected = list(answer.value) if answer.type == "list" else [answer.value]
    flat = [item for value in expected for item in (value if isinstance(value, list) else [value])]
    found = candidates(answer_span(text), vocabulary, flat)
    hit = [e for e in flat if any(matches(e, c, answer.tolerance) for c in found)]
    extra = [c for c in found if not any(matches(e, c, answer.tolerance) for e in flat)]
    if answer.type != "list":
        return 1.0 / (1 + len(extra)) if hit else 0.0
    return len(hit) / (len(flat) + len(extra))


def surfaces(output: Any, value: Any, tolerance: float = 0.01) -> bool:
    """Whether a tool's output contains the value: a leaf equal to it, or (for lists) a list equal as a set."""
    if isinstance(value, list):
        wanted = sorted(normal(v) if isinstance(v, str) else repr(v) for v in value)
        return any(sorted(normal(v) if isinstance(v, str) else repr(v) for v in leaf) == wanted for leaf in lists_in(output))
    return any(matches(value, normal(leaf) if isinstance(leaf, str) else leaf, tolerance) for leaf in leaves(output))


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def lists_in(value: Any) -> list[list[Any]]:
    if isinstance(value, dict):
        return [found for item in value.values() for found in lists_in(item)]
    if isinstance(value, list):
        return [value, *[found for item in value for found in lists_in(item)]]
    return []

"""Call matching on its own, after the Berkeley Function Calling Leaderboard's AST checker.

Rules kept: exact function names; every required parameter present; no parameter the schema lacks;
strict types (an int is accepted for a number, a bool never is); strings compared after BFCL's
normalisation (lower case, `` ,./-_*^`` removed); each argument's value must be one of its acceptable
values, where "" marks the argument as optional; lists element by element; objects key by key.

Differences from that checker, on purpose:
- parallel calls are paired by a maximum bipartite matching, not greedily, so a valid set of calls is
  never rejected because an earlier expected call grabbed the wrong one;
- a call whose function has no schema is reported as such instead of raising;
- numbers compare by value (1 == 1.0), with no string coercion of numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from envgen.models import ToolCall, ToolSchema

STRIP = re.compile(r"[ ,./\-_*^]")
JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


class CallCheck(BaseModel):
    valid: bool
    errors: list[str] = Field(default_factory=list)


class MatchReport(BaseModel):
    """Which call matched which expected call; what was left over on either side, and why."""

    valid: bool
    pairs: list[tuple[int, int]]
    unmatched_calls: list[int]
    unmatched_expected: list[int]
    reasons: dict[int, list[str]] = Field(default_factory=dict)


def normalise(text: str) -> str:
    return STRIP.sub("", text).lower()


def type_ok(value: Any, schema_type: str | None) -> bool:
    if schema_type is None:
        return True
    expected = JSON_TYPES.get(schema_type)
    if expected is None:
        return True
    if isinstance(value, bool) and schema_type != "boolean":
        return False
    return isinstance(value, expected)


def same_value(value: Any, acceptable: Any) -> bool:
    if isinstance(acceptable, str) and isinstance(value, str):
        return normalise(value) == normalise(acceptable)
    if isinstance(acceptable, list) and isinstance(value, list):
        return len(value) == len(acceptable) and all(same_value(v, a) for v, a in zip(value, acceptable, strict=True))
    if isinstance(acceptable, dict) and isinstance(value, dict):
        return dict_ok(value, acceptable, {})[0]
    if isinstance(value, bool) or isinstance(acceptable, bool):
        return value is acceptable
    return type(value) in (int, float) and type(acceptable) in (int, float) and value == acceptable


def dict_ok(value: dict[str, Any], acceptable: dict[str, Any], properties: dict[str, Any]) -> tuple[bool, list[str]]:
    """An object argument: each key's value among its acceptable list; "" lets a key be absent."""
    errors = [f"unexpected key {key!r}" for key in value if key not in acceptable]
    for key, options in acceptable.items():
        options = options if isinstance(options, list) else [options]
        if key not in value:
            if "" not in options:
                errors.append(f"missing key {key!r}")
            continue
        if not type_ok(value[key], properties.get(key, {}).get("type")):
            errors.append(f"key {key!r} has the wrong type")
        elif not any(same_value(value[key], option) for option in options if option != ""):
            errors.append(f"key {key!r}: {value[key]!r} is not among {options!r}")
    return not errors, errors


def check_call(schema: ToolSchema | None, call: ToolCall, name: str, acceptable: dict[str, list[Any]]) -> CallCheck:
    """One call against one expected call."""
    if call.name != name:
        return CallCheck(valid=False, errors=[f"function {call.name!r} is not {name!r}"])
    if schema is None:
        return CallCheck(valid=False, errors=[f"no schema for function {call.name!r}"])
    parameters = schema.function.parameters
    properties: dict[str, Any] = parameters.get("properties", {})
    errors = [f"missing required parameter {p!r}" for p in parameters.get("required", []) if p not in call.arguments]
    for key, value in call.arguments.items():
        if key not in properties:
            errors.append(f"unexpected parameter {key!r}")
        elif key not in acceptable:
            errors.append(f"parameter {key!r} is not expected")
        elif not type_ok(value, properties[key].get("type")):
            errors.append(f"parameter {key!r} should be {properties[key].get('type')}, got {type(value).__name__}")
        else:
            options = [o for o in acceptable[key] if o != ""]
            if isinstance(value, dict):
                sub = properties[key].get("properties", {})
                if not any(isinstance(o, dict) and dict_ok(value, o, sub)[0] for o in options):
                    reasons = [e for o in options if isinstance(o, dict) for e in dict_ok(value, o, sub)[1]]
                    errors.append(f"parameter {key!r}: " + "; ".join(reasons or ["no acceptable object"]))
            elif not any(same_value(value, option) for option in options):
                errors.append(f"parameter {key!r}: {value!r} is not among {options!r}")
    for key, options in acceptable.items():
        if key not in call.arguments and "" not in options and key not in parameters.get("required", []):
            errors.append(f"missing parameter {key!r}")
    return CallCheck(valid=not errors, errors=errors)


def maximum_matching(edges: list[list[int]]) -> dict[int, int]:
    """Kuhn's augmenting paths: left i -> right j; returns right -> left."""
    owner: dict[int, int] = {}

    def augment(left: int, seen: set[int]) -> bool:
        for right in edges[left]:
            if right in seen:
                continue
            seen.add(right)
            if right not in owner or augment(owner[right], seen):
                owner[right] = left
                return True
        return False

    for left in range(len(edges)):
        augment(left, set())
    return owner


def match_calls(
    schemas: Sequence[ToolSchema], calls: Sequence[ToolCall], expected: Sequence[tuple[str, dict[str, list[Any]]]]
) -> MatchReport:
    """Order-free matching of parallel calls; valid when every call and every expected call is paired."""
    by_name = {schema.name: schema for schema in schemas}
    reasons: dict[int, list[str]] = {}
    edges: list[list[int]] = []
    for index, call in enumerate(calls):
        row: list[int] = []
        for position, (name, acceptable) in enumerate(expected):
            result = check_call(by_name.get(call.name), call, name, acceptable)
            if result.valid:
                row.append(position)
            elif call.name == name:
                reasons.setdefault(index, []).extend(result.errors)
        edges.append(row)
        if not row and index not in reasons:
            reasons[index] = [f"no expected call of {call.name!r}"]
    owner = maximum_matching(edges)
    pairs = sorted((left, right) for right, left in owner.items())
    matched_calls = {left for left, _ in pairs}
    unmatched_calls = [i for i in range(len(calls)) if i not in matched_calls]
    unmatched_expected = [j for j in range(len(expected)) if j not in owner]
    return MatchReport(
        valid=not unmatched_calls and not unmatched_expected,
        pairs=pairs,
        unmatched_calls=unmatched_calls,
        unmatched_expected=unmatched_expected,
        reasons={i: r for i, r in reasons.items() if i in unmatched_calls},
    )

"""Call matching after the BFCL AST checker, and where we differ on purpose."""

from __future__ import annotations

from envgen.models import ToolCall, ToolSchema
from gym_tools.matching import check_call, match_calls

SCHEMA = ToolSchema.model_validate(
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "threshold": {"type": "number"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "filters": {"type": "object", "properties": {"kind": {"type": "string"}, "max": {"type": "number"}}},
                    "tags": {"type": "array"},
                },
                "required": ["city"],
            },
        },
    }
)
EXPECTED = {"city": ["San Francisco", "SF"], "days": [3], "threshold": [2.5, ""], "unit": ["", "celsius"], "filters": [""], "tags": [""]}


def check(**arguments: object):
    return check_call(SCHEMA, ToolCall(name="get_weather", arguments=arguments), "get_weather", EXPECTED)


def test_exact_and_normalised_strings_match() -> None:
    assert check(city="San Francisco", days=3).valid
    assert check(city="san-francisco", days=3).valid, "BFCL strips spaces and punctuation, ignores case"
    assert check(city="sf", days=3, unit="Celsius").valid


def test_optional_arguments_may_be_left_out_but_not_set_wrong() -> None:
    assert check(city="SF", days=3).valid
    assert not check(city="SF", days=3, unit="fahrenheit").valid
    assert not check(city="SF").valid, "days has no '' so it is required by the expectation"


def test_types_are_strict_but_int_counts_as_number() -> None:
    assert check(city="SF", days=3, threshold=2.5).valid
    assert not check(city="SF", days=3.0).valid
    assert not check(city="SF", days=True).valid
    assert not check(city="SF", days="3").valid
    ok = check_call(SCHEMA, ToolCall(name="get_weather", arguments={"city": "SF", "days": 3, "threshold": 2}), "get_weather", {**EXPECTED, "threshold": [2.0]})
    assert ok.valid


def test_unknown_parameter_and_wrong_name_are_reported() -> None:
    result = check(city="SF", days=3, colour="red")
    assert not result.valid and "unexpected parameter 'colour'" in result.errors[0]
    wrong = check_call(SCHEMA, ToolCall(name="get_wether", arguments={}), "get_weather", EXPECTED)
    assert not wrong.valid and "is not 'get_weather'" in wrong.errors[0]


def test_object_arguments_compare_key_by_key() -> None:
    expected = {**EXPECTED, "filters": [{"kind": ["rain"], "max": [10, ""]}]}
    good = ToolCall(name="get_weather", arguments={"city": "SF", "days": 3, "filters": {"kind": "Rain"}})
    assert check_call(SCHEMA, good, "get_weather", expected).valid
    bad = ToolCall(name="get_weather", arguments={"city": "SF", "days": 3, "filters": {"kind": "snow"}})
    assert not check_call(SCHEMA, bad, "get_weather", expected).valid


def test_parallel_calls_match_in_any_order_and_optimally() -> None:
    expected = [("get_weather", {"city": ["SF", "LA"], "days": [3]}), ("get_weather", {"city": ["SF"], "days": [3]})]
    calls = [ToolCall(name="get_weather", arguments={"city": "SF", "days": 3}), ToolCall(name="get_weather", arguments={"city": "LA", "days": 3})]
    report = match_calls([SCHEMA], calls, expected)
    assert report.valid, "a greedy checker pairs call 0 with expectation 0 and then fails on LA"
    assert sorted(report.pairs) == [(0, 1), (1, 0)]


def test_missing_and_extra_calls_are_listed() -> None:
    expected = [("get_weather", {"city": ["SF"], "days": [3]})]
    calls = [ToolCall(name="get_weather", arguments={"city": "LA", "days": 3})]
    report = match_calls([SCHEMA], calls, expected)
    assert not report.valid and report.unmatched_calls == [0] and report.unmatched_expected == [0]
    assert "LA" in report.reasons[0][0]
    unknown = match_calls([], [ToolCall(name="nope", arguments={})], [])
    assert unknown.reasons[0] == ["no expected call of 'nope'"]

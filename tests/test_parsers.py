"""Tool-call parsing in every format; malformed output is an error, never an exception."""

from __future__ import annotations

import pytest

from envgen.models import ToolCall
from gym_tools.formats import render_calls
from gym_tools.parsers import FORMATS, detect, parse

CALLS = [ToolCall(name="get_city_population", arguments={"city": "Velmora", "unit": None}), ToolCall(name="calc", arguments={"numbers": [1, 2.5], "op": "add"})]


@pytest.mark.parametrize("tool_format", FORMATS)
def test_round_trip_in_every_format(tool_format: str) -> None:
    action = render_calls(CALLS, tool_format)
    for chosen in (tool_format, "auto"):
        turn = parse(action, chosen)
        assert turn.calls == CALLS and not turn.errors, chosen
    assert detect(action) == tool_format


def test_hermes_keeps_text_around_calls() -> None:
    turn = parse('Let me check.\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', "hermes")
    assert turn.content == "Let me check." and turn.calls == [ToolCall(name="f", arguments={"a": 1})]


def test_openai_arguments_may_be_text_or_object() -> None:
    message = {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}
    assert parse(message).calls == [ToolCall(name="f", arguments={"a": 1})]


def test_python_calls_are_read_never_run() -> None:
    turn = parse('f(a=__import__("os").system("echo hi"))', "python")
    assert not turn.calls and turn.errors and "literals" in turn.errors[0]
    assert parse("f(1, 2)", "python").errors
    assert "set is not allowed" in parse("f(a={'x'})", "python").errors[0]
    assert parse("f(a=(1, 2))", "python").calls == [ToolCall(name="f", arguments={"a": [1, 2]})]
    assert parse("```python\nf(a=1)\ng(b=[1, 2])\n```").calls == [ToolCall(name="f", arguments={"a": 1}), ToolCall(name="g", arguments={"b": [1, 2]})]


@pytest.mark.parametrize(
    ("action", "tool_format", "fragment"),
    [
        ("<tool_call>{bad json}</tool_call>", "auto", "invalid JSON"),
        ('<tool_call>{"arguments": {}}</tool_call>', "auto", "missing a string 'name'"),
        ('<tool_call>{"name": "f"}', "auto", "unbalanced"),
        ('{"name": "f", "arguments": "{nope"}', "auto", "not valid JSON"),
        ('{"name": "f", "arguments": [1]}', "auto", "must be an object"),
        ("{not json", "json", "invalid JSON"),
        ({"tool_calls": "x"}, "openai", "must be a list"),
    ],
)
def test_malformed_output_is_reported(action: object, tool_format: str, fragment: str) -> None:
    turn = parse(action, tool_format)
    assert turn.errors and fragment in " ".join(turn.errors)
    assert not turn.is_final


@pytest.mark.parametrize("text", ["The answer is 42.", "<answer>Velmora</answer>", "hello", "x = 3"])
def test_plain_text_is_a_final_answer(text: str) -> None:
    for tool_format in ("auto", *FORMATS):
        turn = parse(text, tool_format)
        assert turn.is_final and turn.content == text.strip(), tool_format

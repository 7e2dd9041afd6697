"""Tool-call parsing: one parser for evaluation and training. Never raises on model output.

Formats: `openai` (an assistant message dict with `tool_calls`, or its JSON), `hermes` (Hermes/Qwen
`<tool_call>{"name": ..., "arguments": ...}</tool_call>` blocks, several per turn), `python`
(`name(a=1, b="x")` calls, one per line or as a list, read with `ast`, never evaluated), `json`
(a plain object `{"name", "arguments"}` or a list of them). `auto` detects the format per turn.
A turn with no call and no parse error is a final answer.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from envgen.models import ToolCall

FORMATS: tuple[str, ...] = ("openai", "hermes", "python", "json")
HERMES_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
CODE_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*?)\n?```$", re.DOTALL)
MAX_CALLS_PER_TURN = 64


class ParsedTurn(BaseModel):
    calls: list[ToolCall] = Field(default_factory=list)
    content: str = ""
    errors: list[str] = Field(default_factory=list)
    format: str | None = None

    @property
    def is_final(self) -> bool:
        return not self.calls and not self.errors


def call_from_object(raw: Any, where: str) -> ToolCall:
    """{"name": ..., "arguments": {...} | "json text"}, also OpenAI's {"function": {...}} wrapper."""
    if isinstance(raw, dict) and isinstance(raw.get("function"), dict):
        raw = raw["function"]
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a tool call must be an object, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: missing a string 'name'")
    arguments = raw.get("arguments", raw.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            raise ValueError(f"{where}: 'arguments' of {name!r} is not valid JSON: {exc}") from exc
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise ValueError(f"{where}: 'arguments' of {name!r} must be an object")
    return ToolCall(name=name, arguments=arguments)


def collect(turn: ParsedTurn, items: list[Any], where: Callable[[int], str]) -> None:
    """Each item becomes a call, or an error naming where it stood."""
    for position, item in enumerate(items[:MAX_CALLS_PER_TURN]):
        try:
            turn.calls.append(call_from_object(item, where(position)))
        except ValueError as exc:
            turn.errors.append(str(exc))


def parse_openai(action: Any) -> ParsedTurn:
    message = action
    if isinstance(action, str):
        source = unfence(action)
        if not source.startswith(("{", "[")):
            return ParsedTurn(content=action.strip(), format="openai")
        try:
            message = json.loads(source)
        except ValueError as exc:
            return ParsedTurn(errors=[f"not an OpenAI message: {exc}"], format="openai")
    if isinstance(message, list):
        message = {"tool_calls": message}
    if not isinstance(message, dict):
        return ParsedTurn(errors=["an OpenAI message must be an object"], format="openai")
    content = message.get("content") or ""
    if not isinstance(content, str):
        content = json.dumps(content)
    turn = ParsedTurn(content=content, format="openai")
    raw_calls = message.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        return ParsedTurn(content=content, errors=["'tool_calls' must be a list"], format="openai")
    collect(turn, raw_calls, lambda position: f"tool_calls[{position}]")
    return turn


def parse_hermes(text: str) -> ParsedTurn:
    turn = ParsedTurn(content=HERMES_BLOCK.sub("", text).strip(), format="hermes")
    for position, block in enumerate(HERMES_BLOCK.findall(text)[:MAX_CALLS_PER_TURN]):
        try:
            turn.calls.append(call_from_object(json.loads(block.strip()), f"<tool_call> #{position + 1}"))
        except ValueError as exc:
            turn.errors.append(str(exc) if "tool_call" in str(exc) else f"<tool_call> #{position + 1}: invalid JSON: {exc}")
    if ("<tool_call>" in turn.content or "</tool_call>" in turn.content) and not turn.errors:
        turn.errors.append("unbalanced <tool_call> tags")
    return turn


def literal(node: ast.expr, where: str) -> Any:
    try:
        return jsonable(ast.literal_eval(node), where)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"{where}: argument values must be JSON-like literals ({exc})") from exc


def jsonable(value: Any, where: str) -> Any:
    """Python literals that JSON can carry; tuples become lists, anything else is refused."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(item, where) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: jsonable(item, where) for key, item in value.items()}
    raise ValueError(f"{type(value).__name__} is not allowed")


def python_calls(text: str) -> list[ToolCall] | None:
    """The calls in `text` if it is nothing but Python-syntax calls of plain names; else None."""
    source = unfence(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    nodes: list[ast.expr] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Expr):
            return None
        value = statement.value
        nodes.extend(value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value])
    if not nodes or not all(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) for n in nodes):
        return None
    calls: list[ToolCall] = []
    for node in nodes[:MAX_CALLS_PER_TURN]:
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if node.args:
            raise ValueError(f"{node.func.id}(): pass arguments by name, e.g. {node.func.id}(x=1)")
        if any(k.arg is None for k in node.keywords):
            raise ValueError(f"{node.func.id}(): **kwargs is not allowed")
        calls.append(ToolCall(name=node.func.id, arguments={str(k.arg): literal(k.value, node.func.id) for k in node.keywords}))
    return calls


def parse_python(text: str) -> ParsedTurn:
    try:
        calls = python_calls(text)
    except ValueError as exc:
        return ParsedTurn(errors=[str(exc)], format="python")
    if calls is None:
        return ParsedTurn(content=text.strip(), format="python")
    return ParsedTurn(calls=calls, format="python")


def unfence(text: str) -> str:
    stripped = text.strip()
    fenced = CODE_FENCE.match(stripped)
    return fenced.group(1) if fenced else stripped


def parse_json(text: str) -> ParsedTurn:
    source = unfence(text)
    try:
        raw = json.loads(source)
    except ValueError as exc:
        if source.startswith(("{", "[")):
            return ParsedTurn(errors=[f"invalid JSON tool call: {exc}"], format="json")
        return ParsedTurn(content=text.strip(), format="json")
    if isinstance(raw, dict) and "tool_calls" in raw:
        return parse_openai(raw).model_copy(update={"format": "json"})
    turn = ParsedTurn(format="json")
    collect(turn, raw if isinstance(raw, list) else [raw], lambda position: f"call #{position + 1}")
    return turn


def detect(action: Any) -> str:
    if isinstance(action, (dict, list)):
        return "openai"
    text = str(action)
    if "<tool_call>" in text or "</tool_call>" in text:
        return "hermes"
    source = unfence(text)
    if source.startswith(("{", "[")):
        return "json"
    try:
        return "python" if python_calls(text) is not None else "text"
    except ValueError:
        return "python"


def parse(action: Any, tool_format: str = "auto") -> ParsedTurn:
    """Model output -> calls, content and errors. Any input, any size: never raises."""
    try:
        chosen = detect(action) if tool_format == "auto" else tool_format
        if chosen == "openai":
            return parse_openai(action)
        if not isinstance(action, str):
            action = json.dumps(action) if isinstance(action, (dict, list)) else str(action)
        if chosen == "hermes":
            return parse_hermes(action)
        if chosen == "python":
            return parse_python(action)
        if chosen == "json":
            return parse_json(action)
        return ParsedTurn(content=action.strip(), format=None)
    except Exception as exc:  # the last line of defence: model output must never crash a step
        return ParsedTurn(errors=[f"unparseable output ({type(exc).__name__}: {exc})"], format=tool_format)

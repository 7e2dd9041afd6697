"""Rendering in each tool-call format: system prompts from `templates/prompts/`, and calls as a model
in that format would write them (used to replay golden solutions through the same parser)."""

from __future__ import annotations

import functools
import json
from typing import Any

from jinja2 import Template

from envgen.models import ToolCall, ToolSchema
from templates import environment


@functools.cache
def system_template() -> Template:
    return environment().get_template("prompts/system.j2")


def system_prompt(schemas: list[ToolSchema], tool_format: str) -> str:
    tools_json = json.dumps([s.model_dump(mode="json") for s in schemas], indent=1, ensure_ascii=False)
    return system_template().render(tools_json=tools_json, format=tool_format).strip()


def python_literal(value: Any) -> str:
    return repr(value)


def render_calls(calls: list[ToolCall], tool_format: str) -> Any:
    """What a model would output to make these calls in `tool_format`."""
    if tool_format in ("openai", "auto"):
        return {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for i, c in enumerate(calls)
            ],
        }
    if tool_format == "hermes":
        return "\n".join(f"<tool_call>\n{json.dumps({'name': c.name, 'arguments': c.arguments})}\n</tool_call>" for c in calls)
    if tool_format == "python":
        return "\n".join(f"{c.name}({', '.join(f'{k}={python_literal(v)}' for k, v in c.arguments.items())})" for c in calls)
    if tool_format == "json":
        return json.dumps([{"name": c.name, "arguments": c.arguments} for c in calls])
    raise ValueError(f"unknown tool format {tool_format!r}")

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


def plain_chat(messages: list[dict[str, Any]], tool_format: str = "hermes") -> list[dict[str, str]]:
    """The episode's messages as role/content pairs only, for chat templates that know no tool roles:
    calls are written out in `tool_format` and tool results come back as `<tool_response>` user turns."""
    chat: list[dict[str, str]] = []
    for message in messages:
        role, content = message["role"], message.get("content") or ""
        if role == "assistant" and message.get("tool_calls"):
            calls = [ToolCall(name=c["function"]["name"], arguments=json.loads(c["function"]["arguments"])) for c in message["tool_calls"]]
            chat.append({"role": "assistant", "content": "\n".join(filter(None, [content, render_calls(calls, tool_format)]))})
        elif role == "tool":
            response = f"<tool_response>\n{content}\n</tool_response>"
            if chat and chat[-1]["role"] == "user" and chat[-1]["content"].startswith("<tool_response>"):
                chat[-1]["content"] += "\n" + response
            else:
                chat.append({"role": "user", "content": response})
        else:
            chat.append({"role": role, "content": content})
    return chat

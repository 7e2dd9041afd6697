"""The `inprocess` backend: tool code runs in the caller's interpreter. No isolation, no limits beyond
the output size; opt-in only, for trusted packs and the fastest possible calls."""

from __future__ import annotations

import json
from typing import Any

from sandbox.base import JSON, CallResult, Limits, Sandbox, Snapshot, next_snapshot_id
from sandbox.jsonutil import digest, dumps


class InProcessSandbox(Sandbox):
    backend = "inprocess"

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._tools: dict[str, Any] = {}
        self._state: JSON = {}

    def load(self, modules: dict[str, str], state: JSON) -> list[str]:
        tools: dict[str, Any] = {}
        for name, source in sorted(modules.items()):
            namespace: dict[str, Any] = {"__name__": f"envgen_tools_{name}"}
            exec(compile(source, f"<tools:{name}>", "exec"), namespace)
            exported = namespace.get("__all__") or [n for n, v in namespace.items() if callable(v) and not n.startswith("_")]
            tools.update((tool, namespace[tool]) for tool in exported)
        self._tools = tools
        self._state = json.loads(dumps(state))
        return sorted(tools)

    def call(self, tool: str, args: dict[str, Any]) -> CallResult:
        function = self._tools.get(tool)
        if function is None:
            return CallResult(status="error", error=f"unknown tool {tool!r}")
        if not isinstance(args, dict):
            return CallResult(status="error", error="arguments must be a JSON object")
        try:
            value = function(self._state, **args)
            size = len(dumps(value).encode("utf-8"))
        except MemoryError:
            return CallResult(status="limit", limit="memory", error="MemoryError")
        except Exception as exc:
            return CallResult(status="error", error=f"{type(exc).__name__}: {exc}")
        if size > self.limits.output_bytes:
            return CallResult(status="limit", limit="output", error=f"result of {size} bytes exceeds {self.limits.output_bytes}")
        return CallResult(status="ok", value=value)

    def snapshot(self) -> Snapshot:
        return Snapshot(id=next_snapshot_id(), state_json=dumps(self._state))

    def restore(self, snapshot: Snapshot) -> None:
        self._state = json.loads(snapshot.state_json)

    def state(self) -> JSON:
        return json.loads(dumps(self._state))

    def state_digest(self) -> str:
        return digest(self._state)

    def close(self) -> None:
        self._tools = {}

"""The sandbox contract: one session interface that every backend implements.

A session holds tool modules (source text) and a world state (JSON). Only JSON crosses the boundary.
After a limit violation or a crash the worker is replaced and the world rolls back to the session's
checkpoint: the state at the last `load`, `snapshot` or `restore`.
"""

from __future__ import annotations

import abc
import itertools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandbox.jsonutil import dumps

LimitName = Literal["wall_time", "cpu_time", "memory", "output"]
JSON = Any


class Limits(BaseModel):
    """Per-call limits; `worker_cpu_s` bounds a worker's whole life as a backstop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_time_s: float = Field(5.0, gt=0)
    cpu_time_s: float = Field(2.0, gt=0)
    memory_mb: int = Field(512, ge=64)
    output_bytes: int = Field(1_000_000, ge=1024)
    file_bytes: int = Field(10_000_000, ge=0)
    worker_cpu_s: int = Field(3600, ge=1)


class CallResult(BaseModel):
    """What a tool call gave: a value, a tool error, a limit violation, or a crash of the worker."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "error", "limit", "crash"]
    value: JSON = None
    error: str | None = None
    limit: LimitName | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_text(self) -> str:
        """The tool message a model sees."""
        if self.status == "ok":
            return self.value if isinstance(self.value, str) else dumps(self.value)
        if self.status == "limit":
            return f"Error: the call exceeded its {self.limit} limit ({self.error})"
        return f"Error: {self.error}"


class Snapshot(BaseModel):
    """A saved world state; the host keeps its text so a replaced worker can be given it again."""

    model_config = ConfigDict(frozen=True)

    id: int
    state_json: str


class SandboxError(RuntimeError):
    """The sandbox itself failed (backend missing, worker would not start, protocol broken)."""


_snapshot_ids = itertools.count(1)


def next_snapshot_id() -> int:
    return next(_snapshot_ids)


class Sandbox(abc.ABC):
    """A session: context-managed, reusable across episodes, safe to use after any violation."""

    backend: str = ""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    @abc.abstractmethod
    def load(self, modules: dict[str, str], state: JSON) -> list[str]:
        """Load tool modules and a world state; returns the tool names exported."""

    @abc.abstractmethod
    def call(self, tool: str, args: dict[str, Any]) -> CallResult:
        """Call one tool with JSON arguments; never raises for anything the tool does."""

    @abc.abstractmethod
    def snapshot(self) -> Snapshot: ...

    @abc.abstractmethod
    def restore(self, snapshot: Snapshot) -> None: ...

    @abc.abstractmethod
    def state(self) -> JSON: ...

    @abc.abstractmethod
    def state_digest(self) -> str: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""The host side of every backend whose tools run in a separate worker (process, bwrap, docker).

A backend supplies a `Transport` (how bytes reach a fresh worker); this class owns the protocol,
the deadlines, and replacing a worker that broke a limit or died.
"""

from __future__ import annotations

import abc
import json
import select
import time
from pathlib import Path
from typing import Any

from sandbox.base import JSON, CallResult, LimitName, Limits, Sandbox, SandboxError, Snapshot, next_snapshot_id
from sandbox.jsonutil import dumps

WORKER_SOURCE = (Path(__file__).parent / "worker.py").read_text(encoding="utf-8")
STATE_BYTES = 256 * 1024 * 1024
START_TIMEOUT_S = 60.0


class WorkerGone(Exception):
    """The worker ended; `limit` names the limit that ended it, if one did."""

    def __init__(self, message: str, limit: LimitName | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class WallTimeExceeded(Exception):
    pass


class LineTooLong(Exception):
    pass


class LineBuffer:
    """Accumulates received bytes and yields whole lines; shared by the fd and socket transports."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk

    def take_line(self, max_bytes: int) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > max_bytes:
                raise LineTooLong()
            return None
        if end > max_bytes:
            raise LineTooLong()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line


class Transport(abc.ABC):
    """A byte pipe to one worker; `recv_line` enforces the deadline and the size cap."""

    lines: LineBuffer

    @abc.abstractmethod
    def send(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def fileno(self) -> int:
        """What to wait on for the worker's output."""

    @abc.abstractmethod
    def receive(self) -> bool:
        """Read what is ready into `lines`; False at end of output."""

    def recv_line(self, deadline: float, max_bytes: int) -> bytes:
        while True:
            line = self.lines.take_line(max_bytes)
            if line is not None:
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WallTimeExceeded()
            ready, _, _ = select.select([self.fileno()], [], [], remaining)
            if not ready:
                raise WallTimeExceeded()
            if not self.receive():
                raise self.death_cause()

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop the worker and everything it started; must not raise."""

    @abc.abstractmethod
    def death_cause(self) -> WorkerGone:
        """After EOF: why the worker ended."""


def worker_argv(python: str, limits: Limits) -> list[str]:
    """`-I -S`: no site-packages, no environment variables, no user directory reach the worker."""
    return [python, "-I", "-S", "-c", WORKER_SOURCE, limits.model_dump_json()]


class WorkerSession(Sandbox):
    """Protocol, deadlines and replacement, over any `Transport`."""

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._seq = 0
        self._modules: dict[str, str] | None = None
        self._checkpoint: str = "{}"
        self._known_snapshots: set[int] = set()
        self.replacements = 0
        self._transport = self._start()

    @abc.abstractmethod
    def _spawn(self) -> Transport: ...

    def _start(self) -> Transport:
        transport = self._spawn()
        try:
            line = transport.recv_line(time.monotonic() + START_TIMEOUT_S, 4096)
        except (WorkerGone, WallTimeExceeded, LineTooLong) as exc:
            transport.kill()
            raise SandboxError(f"{self.backend} worker did not start: {exc}") from exc
        if json.loads(line).get("value") != "ready":
            transport.kill()
            raise SandboxError(f"{self.backend} worker sent {line[:200]!r} instead of ready")
        return transport

    def _replace(self) -> None:
        self._transport.kill()
        self.replacements += 1
        self._known_snapshots = set()
        self._transport = self._start()
        if self._modules is not None:
            self._exchange({"op": "load", "modules": self._modules, "state": json.loads(self._checkpoint)}, STATE_BYTES, START_TIMEOUT_S)

    def _exchange(self, request: dict[str, Any], max_bytes: int, timeout: float) -> dict[str, Any]:
        """One request, one response; raises the transport's exceptions untouched."""
        self._seq += 1
        request["seq"] = self._seq
        self._transport.send(dumps(request).encode("utf-8") + b"\n")
        line = self._transport.recv_line(time.monotonic() + timeout, max_bytes + 4096)
        try:
            response = json.loads(line)
        except ValueError as exc:
            raise WorkerGone(f"worker wrote a broken response: {line[:200]!r}") from exc
        if not isinstance(response, dict) or response.get("seq") != self._seq:
            raise WorkerGone("worker answered out of turn")
        return response

    def _request(self, request: dict[str, Any], max_bytes: int = STATE_BYTES, timeout: float = START_TIMEOUT_S) -> CallResult:
        try:
            response = self._exchange(request, max_bytes, timeout)
        except WallTimeExceeded:
            self._replace()
            return CallResult(status="limit", limit="wall_time", error=f"no answer within {timeout}s")
        except LineTooLong:
            self._replace()
            return CallResult(status="limit", limit="output", error=f"output over {max_bytes} bytes")
        except WorkerGone as exc:
            self._replace()
            if exc.limit is not None:
                return CallResult(status="limit", limit=exc.limit, error=str(exc))
            return CallResult(status="crash", error=f"worker crashed: {exc}")
        result = CallResult(
            status=response.get("status", "error"),
            value=response.get("value"),
            error=response.get("error"),
            limit=response.get("limit"),
        )
        if result.status == "limit":
            self._replace()
        return result

    def _control(self, request: dict[str, Any]) -> JSON:
        result = self._request(request)
        if not result.ok:
            raise SandboxError(f"{self.backend} {request['op']} failed: {result.error}")
        return result.value

    def load(self, modules: dict[str, str], state: JSON) -> list[str]:
        self._checkpoint = dumps(state)
        self._modules = None
        tools = self._control({"op": "load", "modules": modules, "state": state})
        self._modules = dict(modules)
        self._known_snapshots = set()
        return list(tools)

    def call(self, tool: str, args: dict[str, Any]) -> CallResult:
        request = {"op": "call", "tool": tool, "args": args}
        return self._request(request, self.limits.output_bytes, self.limits.wall_time_s)

    def snapshot(self) -> Snapshot:
        snapshot_id = next_snapshot_id()
        text = self._control({"op": "snapshot", "id": snapshot_id})
        self._known_snapshots.add(snapshot_id)
        self._checkpoint = text
        return Snapshot(id=snapshot_id, state_json=text)

    def restore(self, snapshot: Snapshot) -> None:
        request: dict[str, Any] = {"op": "restore", "id": snapshot.id}
        if snapshot.id not in self._known_snapshots:
            request["state"] = snapshot.state_json
        self._control(request)
        self._known_snapshots.add(snapshot.id)
        self._checkpoint = snapshot.state_json

    def state(self) -> JSON:
        return self._control({"op": "get_state"})

    def state_digest(self) -> str:
        return str(self._control({"op": "digest"}))

    def close(self) -> None:
        self._transport.kill()

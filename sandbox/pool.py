"""A pool of warm sessions, so environments and rollouts never pay a worker's start per episode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox.base import Limits, Sandbox
from sandbox.registry import AUTO, open_sandbox, resolve_backend


class SandboxPool:
    def __init__(self, backend: str = AUTO, limits: Limits | None = None, size: int = 4) -> None:
        self.backend = resolve_backend(backend)
        self.limits = limits or Limits()
        self.size = size
        self._idle: list[Sandbox] = []
        self._lock = threading.Lock()
        self._closed = False

    def warm(self, count: int | None = None) -> None:
        """Start sessions ahead of need."""
        wanted = min(self.size, count if count is not None else self.size)
        while len(self._idle) < wanted:
            self._idle.append(open_sandbox(self.backend, self.limits))

    def acquire(self) -> Sandbox:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return open_sandbox(self.backend, self.limits)

    def release(self, session: Sandbox) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(session)
                return
        session.close()

    @contextmanager
    def session(self) -> Iterator[Sandbox]:
        session = self.acquire()
        try:
            yield session
        finally:
            self.release(session)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()

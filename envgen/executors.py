"""Where per-task work runs: in this process, or as Ray tasks (a local Ray started on the spot, or an
existing cluster). Results come back in submission order, so both give the same pack bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol


class Executor(Protocol):
    def map(self, function: Callable[..., Any], chunks: list[tuple[Any, ...]]) -> Iterator[Any]: ...

    def close(self) -> None: ...


class LocalExecutor:
    def map(self, function: Callable[..., Any], chunks: list[tuple[Any, ...]]) -> Iterator[Any]:
        for chunk in chunks:
            yield function(*chunk)

    def close(self) -> None:
        """Nothing to release."""


class RayExecutor:
    """Each chunk is one Ray task; ordering is restored as results arrive."""

    def __init__(self, address: str | None = None) -> None:
        import ray

        self._ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")

    def map(self, function: Callable[..., Any], chunks: list[tuple[Any, ...]]) -> Iterator[Any]:
        remote = self._ray.remote(function)
        futures = [remote.remote(*chunk) for chunk in chunks]
        for future in futures:
            yield self._ray.get(future)

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()


def make_executor(kind: str, address: str | None = None) -> Executor:
    if kind == "ray":
        return RayExecutor(address)
    if kind == "local":
        return LocalExecutor()
    raise ValueError(f"unknown executor {kind!r}; choose local or ray")

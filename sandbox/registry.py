"""Backends by name, and the choice of the strongest one this machine offers."""

from __future__ import annotations

import functools
from collections.abc import Callable

from sandbox.base import Limits, Sandbox, SandboxError
from sandbox.bwrap import BwrapSandbox, bwrap_path
from sandbox.docker_backend import DockerSandbox, docker_client, image_present
from sandbox.inprocess import InProcessSandbox
from sandbox.process import ProcessSandbox

BACKENDS: dict[str, Callable[[Limits | None], Sandbox]] = {
    "inprocess": InProcessSandbox,
    "process": ProcessSandbox,
    "bwrap": BwrapSandbox,
    "docker": DockerSandbox,
}
AUTO = "auto"
STRENGTH_ORDER = ("docker", "bwrap", "process")


@functools.cache
def backend_available(name: str) -> bool:
    """True when a session of this backend can start here (a real start, cached per process)."""
    if name == "docker":
        client = docker_client()
        if client is None or not image_present(client):
            return False
    if name == "bwrap" and bwrap_path() is None:
        return False
    try:
        BACKENDS[name](Limits()).close()
    except SandboxError:
        return False
    return True


def resolve_backend(name: str = AUTO) -> str:
    """`auto` is the strongest available: docker, else bwrap, else process. `inprocess` is never chosen for you."""
    if name != AUTO:
        if name not in BACKENDS:
            raise SandboxError(f"unknown sandbox backend {name!r}; choose one of {', '.join([AUTO, *BACKENDS])}")
        return name
    for candidate in STRENGTH_ORDER:
        if backend_available(candidate):
            return candidate
    raise SandboxError("no sandbox backend can start here")


def open_sandbox(backend: str = AUTO, limits: Limits | None = None) -> Sandbox:
    return BACKENDS[resolve_backend(backend)](limits)

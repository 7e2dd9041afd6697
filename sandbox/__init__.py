"""Where tool code runs: one session interface, four backends (inprocess, process, bwrap, docker)."""

from sandbox.base import CallResult, Limits, Sandbox, SandboxError, Snapshot
from sandbox.pool import SandboxPool
from sandbox.registry import AUTO, BACKENDS, backend_available, open_sandbox, resolve_backend

__all__ = [
    "AUTO",
    "BACKENDS",
    "CallResult",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxPool",
    "Snapshot",
    "backend_available",
    "open_sandbox",
    "resolve_backend",
]

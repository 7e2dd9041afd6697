"""The `process` backend: a long-lived worker process per session, under rlimits.

When the host runs as root the worker drops to an unprivileged uid of its own before it starts, so
the kernel enforces its no-fork rlimit (root is exempt from RLIMIT_NPROC) and host files it may not
read stay closed to it. Such a worker needs an interpreter that uid can execute: the host's when it
can, else Debian's /usr/bin/python3.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sandbox.base import Limits, SandboxError
from sandbox.worker_session import LineBuffer, Transport, WorkerGone, WorkerSession, worker_argv

UNPRIVILEGED_UIDS = (200_000, 1_200_000)
SIGNAL_LIMITS = {signal.SIGXCPU: "cpu_time", signal.SIGXFSZ: "output"}


def world_executable(path: str) -> bool:
    """True when every directory on the way and the file itself are open to other users."""
    resolved = Path(path).resolve()
    for part in [*reversed(resolved.parents), resolved]:
        mode = part.stat().st_mode
        needed = 0o005 if part == resolved else 0o001
        if mode & needed != needed:
            return False
    return True


def sandbox_python(drop_privileges: bool) -> str:
    """An interpreter the worker's uid can run."""
    if not drop_privileges or world_executable(sys.executable):
        return sys.executable
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and world_executable(candidate):
            return candidate
    raise SandboxError("running as root, the worker needs a Python that an unprivileged user can execute; install python3")


def should_drop_privileges() -> bool:
    return os.geteuid() == 0


def demote(uid: int) -> Callable[[], None]:
    def set_ids() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    return set_ids


class ProcessTransport(Transport):
    """Pipes to a child process in its own session, so a kill reaches everything it started."""

    def __init__(self, argv: list[str], preexec: Callable[[], None] | None, cwd: str = "/") -> None:
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                preexec_fn=preexec,
                start_new_session=True,
                cwd=cwd,
                close_fds=True,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start worker {argv[0]}: {exc}") from exc
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin.fileno()
        self._out = self.process.stdout.fileno()
        self.lines = LineBuffer()

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._in, view) :]
        except (BrokenPipeError, OSError) as exc:
            raise self.death_cause() from exc

    def fileno(self) -> int:
        return self._out

    def receive(self) -> bool:
        chunk = os.read(self._out, 1 << 20)
        self.lines.feed(chunk)
        return bool(chunk)

    def death_cause(self) -> WorkerGone:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return WorkerGone("worker closed its output but kept running")
        if code < 0:
            limit = SIGNAL_LIMITS.get(signal.Signals(-code))
            return WorkerGone(f"killed by {signal.Signals(-code).name}", limit)  # type: ignore[arg-type]
        return WorkerGone(f"exited with status {code}")

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class ProcessSandbox(WorkerSession):
    backend = "process"

    def __init__(self, limits: Limits | None = None) -> None:
        self._drop = should_drop_privileges()
        self._python = sandbox_python(self._drop)
        super().__init__(limits)

    def _spawn(self) -> Transport:
        preexec = demote(random.randint(*UNPRIVILEGED_UIDS)) if self._drop else None
        return ProcessTransport(worker_argv(self._python, self.limits), preexec)

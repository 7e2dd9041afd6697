"""The `bwrap` backend: the process worker inside bubblewrap.

No network, a read-only view of /usr (and of the interpreter's prefix) only, a private tmpfs /tmp,
its own PID, IPC and UTS namespaces, no further user namespaces, and the environment cleared.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from pathlib import Path

from sandbox.base import Limits, SandboxError
from sandbox.process import UNPRIVILEGED_UIDS, ProcessTransport, demote, sandbox_python, should_drop_privileges
from sandbox.worker_session import Transport, WorkerSession, worker_argv

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32")
TMP_BYTES = 64 * 1024 * 1024


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def filesystem_args(python: str) -> list[str]:
    args: list[str] = []
    for directory in SYSTEM_DIRS:
        if os.path.islink(directory):
            args += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            args += ["--ro-bind", directory, directory]
    prefix = Path(python).resolve().parents[1]
    if not str(prefix).startswith("/usr"):
        args += ["--ro-bind", str(prefix), str(prefix)]
    return args


class BwrapSandbox(WorkerSession):
    backend = "bwrap"

    def __init__(self, limits: Limits | None = None) -> None:
        executable = bwrap_path()
        if executable is None:
            raise SandboxError("bwrap backend: bubblewrap is not installed (Debian package `bubblewrap`)")
        self._bwrap = executable
        self._drop = should_drop_privileges()
        self._python = sandbox_python(self._drop) if self._drop else sys.executable
        super().__init__(limits)

    def _argv(self) -> list[str]:
        return [
            self._bwrap,
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--disable-userns",
            "--clearenv",
            "--cap-drop",
            "ALL",
            *filesystem_args(self._python),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(TMP_BYTES),
            "--tmpfs",
            "/tmp",
            "--remount-ro",
            "/",
            "--chdir",
            "/tmp",
            "--",
            *worker_argv(self._python, self.limits),
        ]

    def _spawn(self) -> Transport:
        preexec = demote(random.randint(*UNPRIVILEGED_UIDS)) if self._drop else None
        return ProcessTransport(self._argv(), preexec)

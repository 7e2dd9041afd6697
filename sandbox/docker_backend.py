"""The `docker` backend: a long-lived container per session, driven through the docker SDK.

Requests travel over the container's attached stdio (one socket for the session's life, no
`docker exec` per call). The container has no network, a read-only root, a tmpfs /tmp, a non-root
user, no capabilities, and memory, CPU and PID caps.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Any

from sandbox.base import Limits, SandboxError
from sandbox.worker_session import LineBuffer, Transport, WorkerGone, WorkerSession, worker_argv

IMAGE = os.environ.get("ENVGEN_SANDBOX_IMAGE", "envgen-sandbox:latest")
CONTAINER_PYTHON = "/usr/bin/python3"
STDOUT_STREAM = 1
HEADER = struct.Struct(">BxxxL")


def docker_client() -> Any:
    """A client for the local engine, or None when no engine answers."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception:
        return None


def image_present(client: Any, image: str = IMAGE) -> bool:
    try:
        client.images.get(image)
        return True
    except Exception:
        return False


class StreamDemuxer:
    """Docker multiplexes stdout and stderr on an attached socket as framed chunks; keep stdout."""

    def __init__(self) -> None:
        self._raw = bytearray()
        self.lines = LineBuffer()

    def feed(self, chunk: bytes) -> None:
        self._raw += chunk
        while len(self._raw) >= HEADER.size:
            stream, size = HEADER.unpack_from(self._raw)
            if len(self._raw) < HEADER.size + size:
                return
            payload = bytes(self._raw[HEADER.size : HEADER.size + size])
            del self._raw[: HEADER.size + size]
            if stream == STDOUT_STREAM:
                self.lines.feed(payload)


class DockerTransport(Transport):
    def __init__(self, client: Any, image: str, limits: Limits) -> None:
        try:
            self.container = client.containers.create(
                image,
                command=worker_argv(CONTAINER_PYTHON, limits),
                stdin_open=True,
                tty=False,
                network_mode="none",
                mem_limit=f"{limits.memory_mb + 64}m",
                memswap_limit=f"{limits.memory_mb + 64}m",
                nano_cpus=1_000_000_000,
                pids_limit=16,
                read_only=True,
                tmpfs={"/tmp": "rw,size=64m,mode=1777"},
                user="65534:65534",
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                working_dir="/tmp",
                labels={"envgen.sandbox": "1"},
            )
            attached = self.container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 0, "stream": 1})
            self.container.start()
        except Exception as exc:
            raise SandboxError(f"docker backend: cannot start a container from {image}: {exc}") from exc
        self._socket: socket.socket = getattr(attached, "_sock", attached)
        self._frames = StreamDemuxer()
        self.lines = self._frames.lines

    def send(self, data: bytes) -> None:
        try:
            self._socket.sendall(data)
        except OSError as exc:
            raise self.death_cause() from exc

    def fileno(self) -> int:
        return self._socket.fileno()

    def receive(self) -> bool:
        chunk = self._socket.recv(1 << 20)
        self._frames.feed(chunk)
        return bool(chunk)

    def death_cause(self) -> WorkerGone:
        try:
            self.container.wait(timeout=10)
            self.container.reload()
            state = self.container.attrs["State"]
        except Exception as exc:
            return WorkerGone(f"container vanished: {exc}")
        if state.get("OOMKilled"):
            return WorkerGone("container killed by the OOM killer", "memory")
        code = int(state.get("ExitCode", -1))
        if code == 128 + 24:
            return WorkerGone("killed by SIGXCPU", "cpu_time")
        return WorkerGone(f"container exited with status {code}")

    def kill(self) -> None:
        try:
            self._socket.close()
        except OSError:
            pass
        try:
            self.container.remove(force=True)
        except Exception:
            pass


class DockerSandbox(WorkerSession):
    backend = "docker"

    def __init__(self, limits: Limits | None = None, image: str = IMAGE) -> None:
        client = docker_client()
        if client is None:
            raise SandboxError("docker backend: no Docker engine answers (start dockerd)")
        if not image_present(client, image):
            raise SandboxError(f"docker backend: image {image} is missing; build it with `envgen sandbox build-image`")
        self._client = client
        self._image = image
        super().__init__(limits)

    def _spawn(self) -> Transport:
        return DockerTransport(self._client, self._image, self.limits)

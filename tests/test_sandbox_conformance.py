"""One conformance suite, run against every sandbox backend.

`inprocess` promises no isolation, so the limit and escape cases run on the isolating backends only.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from sandbox import BACKENDS, Limits, Sandbox, open_sandbox
from tests.conftest import require_backend

ISOLATING = ["process", "bwrap", "docker"]
CONFINING = ["bwrap", "docker"]
LIMITS = Limits(wall_time_s=2.0, cpu_time_s=1.0, memory_mb=256, output_bytes=100_000)

TOOLS = '''
import os, time

__all__ = ["lookup", "put", "fail", "sleep_forever", "burn", "eat_memory", "fork_bomb", "huge_output",
           "print_flood", "exit_now", "segfault", "connect", "read_file", "write_file"]

def lookup(world, key):
    return world["items"][key]

def put(world, key, value):
    world["items"][key] = value
    return {"stored": key}

def fail(world):
    raise ValueError("bad input on purpose")

def sleep_forever(world):
    time.sleep(10_000)

def burn(world):
    while True:
        pass

def eat_memory(world):
    hog = []
    while True:
        hog.append(bytearray(50 * 1024 * 1024))

def fork_bomb(world):
    started = 0
    for _ in range(10_000):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            while True:
                pass
        started += 1
    return started

def huge_output(world):
    return "x" * 100_000_000

def print_flood(world):
    for _ in range(100):
        print("y" * 1_000_000)
    return "printed"

def exit_now(world):
    os._exit(7)

def segfault(world):
    import ctypes
    return ctypes.string_at(0)

def connect(world, host, port):
    import socket
    try:
        socket.create_connection((host, port), timeout=1).close()
        return "connected"
    except OSError as exc:
        return "blocked: %s" % exc

def read_file(world, path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as exc:
        return "denied: %s" % exc

def write_file(world, path):
    try:
        with open(path, "w") as handle:
            handle.write("probe")
        return "written"
    except OSError as exc:
        return "denied: %s" % exc
'''
WORLD = {"items": {"a": 1, "b": [1, 2]}}


def descendants() -> set[int]:
    """Processes started, directly or not, by this test process."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def sandbox_containers() -> set[str]:
    from sandbox.docker_backend import docker_client

    client = docker_client()
    return {c.id for c in client.containers.list(all=True, filters={"label": "envgen.sandbox=1"})} if client else set()


def leftovers() -> set[object]:
    return descendants() | sandbox_containers()


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    require_backend(request.param)
    return str(request.param)


@pytest.fixture
def session(backend: str):
    with open_sandbox(backend, LIMITS) as opened:
        opened.load({"tools": TOOLS}, WORLD)
        yield opened


def still_works(session: Sandbox) -> None:
    result = session.call("lookup", {"key": "a"})
    assert result.ok and result.value == 1, result


def test_results_and_tool_errors(session: Sandbox) -> None:
    assert session.call("lookup", {"key": "b"}).value == [1, 2]
    error = session.call("fail", {})
    assert error.status == "error" and "bad input on purpose" in (error.error or "")
    missing = session.call("lookup", {"key": "zzz"})
    assert missing.status == "error" and "KeyError" in (missing.error or "")
    assert session.call("no_such_tool", {}).status == "error"
    assert session.call("lookup", {"wrong": 1}).status == "error"
    still_works(session)


def test_snapshot_and_restore(session: Sandbox) -> None:
    start = session.snapshot()
    digest_before = session.state_digest()
    assert session.call("put", {"key": "a", "value": 42}).ok
    assert session.state()["items"]["a"] == 42
    assert session.state_digest() != digest_before
    session.restore(start)
    assert session.state() == WORLD
    assert session.state_digest() == digest_before


def test_load_rejects_broken_module(backend: str) -> None:
    with open_sandbox(backend, LIMITS) as opened:
        with pytest.raises(Exception, match="SyntaxError|invalid syntax"):
            opened.load({"bad": "def broken(:\n"}, {})


@pytest.fixture(params=ISOLATING)
def isolated(request: pytest.FixtureRequest):
    require_backend(request.param)
    before = leftovers()
    with open_sandbox(request.param, LIMITS) as opened:
        opened.load({"tools": TOOLS}, WORLD)
        yield opened
    deadline = time.monotonic() + 5
    while leftovers() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers() - before, "the sandbox left processes or containers behind"


@pytest.mark.parametrize(
    ("tool", "limits"),
    [
        ("sleep_forever", {"wall_time"}),
        ("burn", {"cpu_time", "wall_time"}),
        ("eat_memory", {"memory"}),
        ("huge_output", {"output", "memory"}),
    ],
)
def test_limits_are_enforced_and_session_survives(isolated: Sandbox, tool: str, limits: set[str]) -> None:
    result = isolated.call(tool, {})
    assert result.status == "limit" and result.limit in limits, result
    still_works(isolated)


def test_violation_rolls_back_to_checkpoint(isolated: Sandbox) -> None:
    isolated.snapshot()
    assert isolated.call("put", {"key": "a", "value": 99}).ok
    assert isolated.call("sleep_forever", {}).limit == "wall_time"
    assert isolated.state() == WORLD


def test_fork_bomb_forks_nothing(isolated: Sandbox) -> None:
    result = isolated.call("fork_bomb", {})
    assert result.status != "ok" or result.value == 0, result
    still_works(isolated)


def test_printing_cannot_break_the_protocol(isolated: Sandbox) -> None:
    assert isolated.call("print_flood", {}).value == "printed"
    still_works(isolated)


@pytest.mark.parametrize("tool", ["exit_now", "segfault"])
def test_crash_is_contained(isolated: Sandbox, tool: str) -> None:
    replacements = isolated.replacements  # type: ignore[attr-defined]
    result = isolated.call(tool, {})
    assert result.status == "crash", result
    assert isolated.replacements == replacements + 1  # type: ignore[attr-defined]
    still_works(isolated)


@pytest.fixture(params=CONFINING)
def confined(request: pytest.FixtureRequest):
    require_backend(request.param)
    with open_sandbox(request.param, LIMITS) as opened:
        opened.load({"tools": TOOLS}, WORLD)
        yield opened


def test_no_network(confined: Sandbox) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    threading.Thread(target=lambda: server.accept(), daemon=True).start()
    try:
        result = confined.call("connect", {"host": "127.0.0.1", "port": server.getsockname()[1]})
        assert str(result.value).startswith("blocked"), result
        outside = confined.call("connect", {"host": "1.1.1.1", "port": 53})
        assert str(outside.value).startswith("blocked"), outside
    finally:
        server.close()


def test_host_secrets_are_out_of_reach(confined: Sandbox) -> None:
    name, token = uuid.uuid4().hex, uuid.uuid4().hex
    planted = [Path("/tmp") / f"envgen-secret-{name}", Path.cwd() / f".envgen-secret-{name}", Path("/var/tmp") / f"envgen-secret-{name}"]
    try:
        for path in planted:
            path.write_text(f"secret {token}")
            path.chmod(0o644)
            result = confined.call("read_file", {"path": str(path)})
            assert token not in str(result.value), f"{path} was readable"
        assert "root:" not in str(confined.call("read_file", {"path": "/etc/shadow"}).value)
    finally:
        for path in planted:
            path.unlink(missing_ok=True)


def test_writes_stay_inside_tmp(confined: Sandbox) -> None:
    name = f"envgen-probe-{uuid.uuid4().hex}"
    for target in (f"/usr/{name}", f"/{name}", f"/etc/{name}", str(Path.cwd() / name)):
        assert str(confined.call("write_file", {"path": target}).value).startswith("denied"), target
        assert not Path(target).exists()
    assert confined.call("write_file", {"path": f"/tmp/{name}"}).value == "written"
    assert not Path(f"/tmp/{name}").exists()


def test_pool_keeps_sessions_warm_and_reuses_them() -> None:
    from sandbox import SandboxPool

    pool = SandboxPool("process", LIMITS, size=2)
    try:
        pool.warm()
        first = pool.acquire()
        second = pool.acquire()
        assert first is not second
        pool.release(first)
        assert pool.acquire() is first, "a released session is handed out again"
        with pool.session() as session:
            session.load({"tools": TOOLS}, WORLD)
            still_works(session)
        pool.release(second)
    finally:
        pool.close()

"""The program that runs inside the sandbox boundary.

It uses the standard library only, so any Python 3.11+ interpreter can run it (the host's, Debian's
`/usr/bin/python3`, or the one in the Docker image); backends pass this file's text with `python -c`.
It speaks JSON lines: one request in on stdin, one response out on stdout. Tool code never sees the
protocol's descriptors: fds 0, 1 and 2 point at /dev/null before any tool code is loaded.
"""

import hashlib
import json
import os
import resource
import signal
import sys

STATE_BYTES = 256 * 1024 * 1024


class CpuLimitExceeded(BaseException):
    """Raised by SIGPROF when a call has used its CPU time (BaseException so `except Exception` misses it)."""


def _on_sigprof(signum, frame):
    raise CpuLimitExceeded()


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(state):
    return hashlib.sha256(canonical(state).encode("utf-8")).hexdigest()


def apply_limits(limits):
    """Rlimits the tool code cannot raise again; forking is refused outright (NPROC=1)."""
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
    file_bytes = int(limits["file_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    lifetime_cpu = int(limits["worker_cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (lifetime_cpu, lifetime_cpu + 1))


class Worker:
    def __init__(self, limits):
        self.limits = limits
        self.tools = {}
        self.state = {}
        self.snapshots = {}

    def handle(self, request):
        op = request.get("op")
        handler = getattr(self, "op_" + str(op), None)
        if handler is None:
            return {"status": "error", "error": "unknown op %r" % (op,)}
        return handler(request)

    def op_load(self, request):
        tools = {}
        for module_name, source in sorted(request["modules"].items()):
            namespace = {"__name__": "envgen_tools_" + module_name, "__builtins__": __builtins__}
            exec(compile(source, "<tools:%s>" % module_name, "exec"), namespace)
            exported = namespace.get("__all__") or [n for n, v in namespace.items() if callable(v) and not n.startswith("_")]
            tools.update((name, namespace[name]) for name in exported)
        self.tools = tools
        self.state = request["state"]
        self.snapshots = {}
        return {"status": "ok", "value": sorted(self.tools)}

    def op_call(self, request):
        tool = self.tools.get(request["tool"])
        if tool is None:
            return {"status": "error", "error": "unknown tool %r" % (request["tool"],)}
        args = request.get("args") or {}
        if not isinstance(args, dict):
            return {"status": "error", "error": "arguments must be a JSON object"}
        signal.setitimer(signal.ITIMER_PROF, float(self.limits["cpu_time_s"]))
        try:
            value = tool(self.state, **args)
        except CpuLimitExceeded:
            return {"status": "limit", "limit": "cpu_time", "error": "call used more than %ss of CPU" % self.limits["cpu_time_s"]}
        except MemoryError:
            return {"status": "limit", "limit": "memory", "error": "call exceeded %s MB" % self.limits["memory_mb"]}
        except RecursionError as exc:
            return {"status": "error", "error": "RecursionError: %s" % exc}
        except Exception as exc:
            return {"status": "error", "error": "%s: %s" % (type(exc).__name__, exc)}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        if isinstance(value, (str, bytes)) and len(value) > int(self.limits["output_bytes"]):
            return {"status": "limit", "limit": "output", "error": "result of %d characters exceeds %s bytes" % (len(value), self.limits["output_bytes"])}
        return {"status": "ok", "value": value}

    def op_snapshot(self, request):
        text = canonical(self.state)
        self.snapshots[request["id"]] = text
        return {"status": "ok", "value": text}

    def op_restore(self, request):
        text = self.snapshots.get(request["id"])
        if text is None:
            if "state" not in request:
                return {"status": "error", "error": "unknown snapshot"}
            text = request["state"]
            self.snapshots[request["id"]] = text
        self.state = json.loads(text)
        return {"status": "ok", "value": None}

    def op_get_state(self, request):
        return {"status": "ok", "value": self.state}

    def op_digest(self, request):
        return {"status": "ok", "value": digest(self.state)}


def encode(response, output_bytes):
    seq = response.get("seq")
    try:
        data = canonical(response).encode("utf-8")
    except (TypeError, ValueError) as exc:
        data = canonical({"status": "error", "error": "result is not JSON: %s" % exc, "seq": seq}).encode("utf-8")
    except MemoryError:
        data = canonical({"status": "limit", "limit": "memory", "error": "result too large to encode", "seq": seq}).encode("utf-8")
    if len(data) > output_bytes:
        error = "result of %d bytes exceeds %d" % (len(data), output_bytes)
        data = canonical({"status": "limit", "limit": "output", "error": error, "seq": seq}).encode("utf-8")
    return data + b"\n"


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def main():
    limits = json.loads(sys.argv[1])
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGPROF, _on_sigprof)
    apply_limits(limits)
    worker = Worker(limits)
    output_bytes = int(limits["output_bytes"])
    write_all(proto_out, encode({"status": "ok", "value": "ready"}, output_bytes))
    for line in proto_in:
        request = {}
        try:
            request = json.loads(line)
            response = worker.handle(request)
        except MemoryError:
            response = {"status": "limit", "limit": "memory", "error": "request exceeded the memory limit"}
        except CpuLimitExceeded:
            response = {"status": "limit", "limit": "cpu_time", "error": "CPU limit"}
        except Exception as exc:
            response = {"status": "error", "error": "%s: %s" % (type(exc).__name__, exc)}
        response["seq"] = request.get("seq")
        write_all(proto_out, encode(response, output_bytes if request.get("op") == "call" else STATE_BYTES))


if __name__ == "__main__":
    main()

"""envgen benchmarks. Figures that matter are ratios measured side by side in one run.

    python -m benchmarks.run sandbox      # per backend: start, round trip p50/p99, calls/s; process vs a bare pipe
    python -m benchmarks.run env          # env.step per format, inprocess and process; vs a bare call and a bare pipe
    python -m benchmarks.run generation   # validated tasks per minute, local and Ray executors
    python -m benchmarks.run rollout      # oracle episodes/s on 1 and 2 Ray workers, and the speed-up
    python -m benchmarks.run all
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envgen.config import BuildConfig
from envgen.models import STRUCTURES
from envgen.pack import PackData, load_pack, write_pack
from envgen.pipeline import build, pack_readme
from envgen.stages.deploy import golden_turns
from gym_tools.env import ToolUseEnv
from gym_tools.formats import render_calls
from gym_tools.parsers import FORMATS
from sandbox import BACKENDS, Limits, backend_available, open_sandbox

ECHO = "import os\nr = os.fdopen(0, 'rb')\nfor line in r:\n    os.write(1, line)\n"
TOOL = "__all__ = ['get']\ndef get(world, key):\n    return {'key': key, 'value': world[key]}\n"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(function: Callable[[], Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


class BarePipe:
    """The floor for any out-of-process call: a Python child echoing one line over pipes."""

    message = b'{"op":"call","tool":"get","args":{"key":"a"},"seq":1}\n'

    def __init__(self) -> None:
        self.child = subprocess.Popen([sys.executable, "-I", "-S", "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.child.stdin is not None and self.child.stdout is not None
        self.out_fd, self.in_fd = self.child.stdout.fileno(), self.child.stdin.fileno()

    def call(self) -> None:
        os.write(self.in_fd, self.message)
        buffer = b""
        while not buffer.endswith(b"\n"):
            select.select([self.out_fd], [], [], 5)
            buffer += os.read(self.out_fd, 65536)

    def close(self) -> None:
        self.child.kill()
        self.child.wait()


def interleaved(rows: dict[str, Callable[[], Any]], count: int, rounds: int = 20) -> dict[str, list[float]]:
    """Every row is timed in each of `rounds` rounds, in turn, so machine noise hits all rows alike."""
    samples: dict[str, list[float]] = {label: [] for label in rows}
    per_round = max(1, count // rounds)
    for label, function in rows.items():
        timed(function, 20)
    for _ in range(rounds):
        for label, function in rows.items():
            samples[label] += timed(function, per_round)
    return samples


def measured(rows: dict[str, Callable[[], Any]], count: int, closing: list[Any]) -> dict[str, Any]:
    """Interleaved timings summarised per row; everything in `closing` is closed afterwards."""
    try:
        samples = interleaved(rows, count)
    finally:
        for item in closing:
            item.close()
    return {label: summary(values) for label, values in samples.items()}


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_us": round(percentile(samples, 0.5) * 1e6, 1),
        "p99_us": round(percentile(samples, 0.99) * 1e6, 1),
        "calls_per_s": round(len(samples) / sum(samples)),
    }


def bench_sandbox(count: int) -> dict[str, Any]:
    pipe = BarePipe()
    rows: dict[str, Callable[[], Any]] = {"bare_pipe": pipe.call}
    sessions = []
    starts: dict[str, float] = {}
    for name in BACKENDS:
        if not backend_available(name):
            continue
        starts[name] = statistics.median(timed(lambda n=name: open_sandbox(n, Limits()).close(), 3))
        session = open_sandbox(name, Limits())
        session.load({"m": TOOL}, {"a": 1})
        sessions.append(session)
        rows[name] = lambda s=session: s.call("get", {"key": "a"})
    results = measured(rows, count, [pipe, *sessions])
    for name, start in starts.items():
        results[name]["start_ms"] = round(start * 1e3, 1)
    results.update({name: "unavailable" for name in BACKENDS if name not in rows})
    if "process" in rows:
        results["ratio_process_to_bare_pipe_p50"] = round(results["process"]["p50_us"] / results["bare_pipe"]["p50_us"], 2)
    return results


def small_pack(directory: Path, per_cell: int = 4) -> Path:
    config = BuildConfig.model_validate({"seed": 1, "tasks": {s: {level: per_cell for level in (1, 2, 3, 4)} for s in STRUCTURES}})
    pack, fields = build(config)
    write_pack(directory, pack, fields, pack_readme(config, fields["counts"]))
    return directory


def bench_env(count: int, pack: PackData) -> dict[str, Any]:
    """One step = one turn with one tool call: parsed, run in the sandbox, scored and observed."""
    task = next(t for t in pack.tasks if t.structure == "single" and t.steps)
    call = golden_turns(task)[0]
    namespace: dict[str, Any] = {}
    for source in pack.modules.values():
        exec(compile(source, "<bench>", "exec"), namespace)
    function, world = namespace[call[0].name], pack.world
    pipe = BarePipe()
    rows: dict[str, Callable[[], Any]] = {"bare_function_call": lambda: function(world, **call[0].arguments), "bare_pipe": pipe.call}
    envs = []
    for backend in ("inprocess", "process"):
        for tool_format in FORMATS:
            env = ToolUseEnv(pack, split="all", tool_format=tool_format, sandbox=backend, max_turns=10**9, max_calls=10**9)
            env.reset(options={"task_id": task.id})
            envs.append(env)
            rows[f"{backend}/{tool_format}"] = restarting_step(env, task, render_calls(call, tool_format))
    results = measured(rows, count, [pipe, *envs])
    for backend in ("inprocess", "process"):
        p50 = results[f"{backend}/hermes"]["p50_us"]
        results[f"ratio_{backend}_hermes_step_to_bare_call"] = round(p50 / results["bare_function_call"]["p50_us"], 1)
        results[f"ratio_{backend}_hermes_step_to_bare_pipe"] = round(p50 / results["bare_pipe"]["p50_us"], 2)
    return results


def restarting_step(env: ToolUseEnv, task: Any, action: Any) -> Callable[[], Any]:
    """One step with one tool call; a fresh episode every 50 steps keeps the conversation short."""
    counter = {"steps": 0}

    def step() -> None:
        counter["steps"] += 1
        if counter["steps"] % 50 == 0:
            env.reset(options={"task_id": task.id})
        env.step(action)

    return step


def bench_generation(tasks: int) -> dict[str, Any]:
    per_cell = max(1, tasks // (len(STRUCTURES) * 4))
    raw = {"seed": 11, "tasks": {s: {level: per_cell for level in (1, 2, 3, 4)} for s in STRUCTURES}, "chunk_size": 250}
    results: dict[str, Any] = {}
    for executor in ("local", "ray"):
        config = BuildConfig.model_validate({**raw, "executor": executor})
        start = time.perf_counter()
        pack, _ = build(config)
        elapsed = time.perf_counter() - start
        results[executor] = {"tasks": len(pack.tasks), "seconds": round(elapsed, 1), "validated_tasks_per_minute": round(len(pack.tasks) / elapsed * 60)}
    results["ratio_ray_to_local"] = round(results["ray"]["validated_tasks_per_minute"] / results["local"]["validated_tasks_per_minute"], 2)
    return results


def bench_rollout(episodes: int, pack_dir: Path) -> dict[str, Any]:
    """Oracle episodes per second on 1 and 2 Ray workers (actors started before the clock)."""
    from envgen.pack import load_pack as load
    from gym_tools.rollout import RolloutPool, episode_specs

    task_ids = [t.id for t in load(pack_dir).tasks]
    results: dict[str, Any] = {}
    for workers in (1, 2):
        pool = RolloutPool(pack_dir, workers=workers, envs_per_worker=4, policy="oracle", chunk=16)
        try:
            pool.run(episode_specs(task_ids, 32 * workers, seed=0))
            start = time.perf_counter()
            played = pool.run(episode_specs(task_ids, episodes, seed=1))
            elapsed = time.perf_counter() - start
        finally:
            pool.close()
        results[f"workers_{workers}"] = {"episodes": len(played), "episodes_per_s": round(len(played) / elapsed, 1)}
    results["speedup_2_over_1"] = round(results["workers_2"]["episodes_per_s"] / results["workers_1"]["episodes_per_s"], 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["sandbox", "env", "generation", "rollout", "all"])
    parser.add_argument("--episodes", type=int, default=2000, help="oracle episodes per rollout row")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls or steps per row")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks to build per executor")
    parser.add_argument("--pack", type=Path, help="an existing pack for the env benchmark")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    if args.what in ("sandbox", "all"):
        report["sandbox"] = bench_sandbox(args.calls)
    if args.what in ("env", "rollout", "all"):
        with tempfile.TemporaryDirectory() as scratch:
            pack_dir = args.pack or small_pack(Path(scratch) / "pack")
            if args.what in ("env", "all"):
                report["env"] = bench_env(args.calls, load_pack(pack_dir))
            if args.what in ("rollout", "all"):
                report["rollout"] = bench_rollout(args.episodes, pack_dir)
    if args.what in ("generation", "all"):
        report["generation"] = bench_generation(args.tasks)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

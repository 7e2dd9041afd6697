"""Rollouts on a real local Ray: oracle and random policies, and an actor killed mid-run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from envgen.cli import app
from gym_tools.env import ToolUseEnv
from gym_tools.policies import OraclePolicy, RandomPolicy
from gym_tools.rollout import RolloutPool, episode_specs, run_lockstep, summarize


def test_lockstep_oracle_earns_one_and_random_far_less(pack) -> None:
    envs = [ToolUseEnv(pack, split="all", sandbox="process") for _ in range(3)]
    try:
        specs = episode_specs([t.id for t in pack.tasks], len(pack.tasks), seed=1)
        oracle = run_lockstep(envs, [OraclePolicy(pack) for _ in envs], specs)
        assert sorted(t.episode_id for t in oracle) == [s.episode_id for s in specs]
        assert all(t.reward == 1.0 for t in oracle)
        assert summarize(oracle)["overall"]["solve_f1"] == 1.0
        random_play = run_lockstep(envs, [RandomPolicy(pack) for _ in envs], specs)
        assert summarize(random_play)["overall"]["mean_reward"] < 0.5
    finally:
        for env in envs:
            env.close()


@pytest.mark.slow
def test_killed_actor_loses_no_episode(pack_dir: Path, pack) -> None:
    pool = RolloutPool(pack_dir, workers=2, envs_per_worker=2, policy="oracle", chunk=4)
    specs = episode_specs([t.id for t in pack.tasks], 120, seed=3)
    killed = threading.Event()

    def kill_once(done: int, total: int) -> None:
        if done and not killed.is_set():
            killed.set()
            pool.ray.kill(pool.actors[0], no_restart=True)

    try:
        trajectories = pool.run(specs, kill_once)
    finally:
        pool.close()
    assert killed.is_set() and pool.replaced >= 1
    assert [t.episode_id for t in trajectories] == [s.episode_id for s in specs]
    assert all(t.status == "ok" and t.reward == 1.0 for t in trajectories)


@pytest.mark.slow
def test_rollout_command_writes_trajectories_and_summary(pack_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["rollout", str(pack_dir), "--policy", "random", "--workers", "2", "--episodes", "24", "--split", "all", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "trajectories.jsonl").read_text().splitlines()
    assert len(lines) == 24 and {"task_id", "messages", "reward", "breakdown"} <= set(json.loads(lines[0]))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"solve_p", "solve_r", "solve_f1", "success_rate"} <= set(summary["overall"])


@pytest.mark.slow
def test_openai_policy_against_a_real_local_endpoint(pack_dir: Path, tmp_path: Path) -> None:
    """`envgen serve-model` (SmolLM2 behind an OpenAI-compatible HTTP API on loopback) driven by the
    real openai client through `envgen rollout --policy openai`."""
    server = subprocess.Popen([sys.executable, "-m", "envgen.cli", "serve-model", "--port", "0", "--max-new-tokens", "48"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, f"the server did not start: {line!r}"
        base_url = match.group(1)
        from openai import BadRequestError, OpenAI

        client = OpenAI(base_url=base_url, api_key="none")
        assert [m.id for m in client.models.list()] == ["smollm2"]
        with pytest.raises(BadRequestError):
            client.chat.completions.create(model="smollm2", messages=[])
        out = tmp_path / "run"
        result = CliRunner().invoke(
            app,
            ["rollout", str(pack_dir), "--policy", "openai", "--base-url", base_url, "--model", "smollm2", "--workers", "1", "--envs-per-worker", "1", "--episodes", "3", "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
        assert len(rows) == 3 and all(r["status"] == "ok" for r in rows), rows
        assert all(r["messages"][-1]["role"] in ("assistant", "tool") for r in rows)
    finally:
        server.terminate()
        server.wait(timeout=30)

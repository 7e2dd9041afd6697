"""Trainer adapters against real parts: exported rows replayed through real sandboxed envs, verl's call
signatures driven as its agent loop drives them, and (slow) real RLlib PPO and TRL GRPO runs."""

from __future__ import annotations

import asyncio
import importlib
import json
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from envgen.cli import app
from envgen.stages.deploy import answer_text, golden_turns
from gym_tools.trainers.export import StepRow, read_rows, step_rows
from gym_tools.trainers.trl import EnvReward, completion_text
from gym_tools.trainers.verl import EnvgenTool, VerlRow, compute_score, verl_rows, write_tool_config

runner = CliRunner()


@pytest.fixture(scope="module")
def rows(pack) -> list[StepRow]:
    return step_rows(pack, split="all", sandbox="process")


@pytest.fixture(scope="module")
def reward(pack):
    scorer = EnvReward(pack)
    yield scorer
    scorer.close()


def test_step_rows_hold_golden_prefixes_with_real_results(pack, rows) -> None:
    assert {r.task_id for r in rows} == {t.id for t in pack.tasks}
    for row in rows:
        task = pack.task(row.task_id)
        assert row.steps == len([t for t in golden_turns(task) if t]) + 1
        assert [m.role for m in row.prompt[:2]] == ["system", "user"] and row.prompt[1].content == task.query
        if row.step == row.steps - 1:
            assert row.completion == answer_text(task.answer)
        if row.step > 0:
            assert "<tool_response>" in row.prompt[-1].content and "Error" not in row.prompt[-1].content


def test_golden_completion_earns_the_full_step_reward_and_garbage_does_not(pack, rows, reward) -> None:
    for row in rows:
        golden = reward.score(row.task_id, row.step, row.completion)
        calls = row.completion.count("<tool_call>")
        assert golden == pytest.approx(2 * calls / (calls + 1) if calls else 1.0), row.task_id
        assert reward.score(row.task_id, row.step, "I think it is 42.") < golden


def test_reward_function_takes_trl_arguments(rows, reward) -> None:
    sample = rows[:6]
    conversational = [[{"role": "assistant", "content": r.completion}] for r in sample]
    scores = reward([r.prompt for r in sample], conversational, [r.task_id for r in sample], [r.step for r in sample], trainer_state=None)
    assert len(scores) == 6 and all(s > 0.9 for s in scores)
    assert completion_text("plain") == "plain"


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_export_round_trips_through_the_documented_schema(pack_dir: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"steps{suffix}"
    result = runner.invoke(app, ["export", str(pack_dir), "--out", str(out), "--split", "all"])
    assert result.exit_code == 0, result.output
    back = [StepRow.model_validate(r) for r in read_rows(out)]
    assert back == step_rows(pack_dir, split="all")
    verl_out = tmp_path / f"verl{suffix}"
    assert runner.invoke(app, ["export", str(pack_dir), "--out", str(verl_out), "--layout", "verl"]).exit_code == 0
    assert [VerlRow.model_validate(r) for r in read_rows(verl_out)] == verl_rows(pack_dir, "train")


def test_export_refuses_an_unknown_suffix_and_writes_nothing(pack_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(pack_dir), "--out", str(tmp_path / "rows.csv")])
    assert result.exit_code != 0 and ".parquet" in result.output
    assert list(tmp_path.iterdir()) == []


def agent_loop_text(pack, task) -> str:
    """What verl's agent loop decodes for a golden multi-turn episode: calls, responses, answer."""
    parts = []
    for turn in golden_turns(task):
        parts += [f'<tool_call>\n{json.dumps({"name": c.name, "arguments": c.arguments})}\n</tool_call>' for c in turn]
        parts.append("user\n<tool_response>\n(result)\n</tool_response>\nassistant")
    return "\n".join(parts + [answer_text(task.answer)])


def test_verl_compute_score_replays_episodes_and_steps(pack, pack_dir: Path, rows) -> None:
    for row in verl_rows(pack_dir, "train")[:12]:
        task = pack.task(row.extra_info.task_id)
        golden = compute_score(row.data_source, agent_loop_text(pack, task), row.reward_model.ground_truth, row.extra_info.model_dump())
        assert golden["score"] == 1.0, task.id
        wrong = compute_score(row.data_source, "<answer>nothing</answer>", row.reward_model.ground_truth)
        assert wrong["score"] < 1.0
    for row in verl_rows(pack_dir, "train", prefixes=True)[:12]:
        step = json.loads(row.reward_model.ground_truth)["step"]
        golden = next(r for r in rows if r.task_id == row.extra_info.task_id and r.step == step)
        assert compute_score(row.data_source, golden.completion, row.reward_model.ground_truth)["score"] > 0.9


def test_verl_tool_keeps_a_world_per_trajectory(pack, pack_dir: Path, tmp_path: Path) -> None:
    config = yaml.safe_load(write_tool_config(pack_dir, tmp_path / "tools.yaml").read_text())
    module_name, class_name = config["tools"][0]["class_name"].rsplit(".", 1)
    assert getattr(importlib.import_module(module_name), class_name) is EnvgenTool
    entries = {e["tool_schema"]["function"]["name"]: e for e in config["tools"]}
    task = next(t for t in pack.tasks if t.structure == "state_changing")
    tools = {name: EnvgenTool(entries[name]["config"], entries[name]["tool_schema"]) for name in task.tools}
    row = next(r for r in verl_rows(pack_dir, "all") if r.extra_info.task_id == task.id)

    async def play(request_id: str) -> list[float]:
        rewards = []
        for call in (c for turn in golden_turns(task) for c in turn):
            tool = tools[call.name]
            instance, _ = await tool.create(create_kwargs=row.extra_info.tools_kwargs[call.name]["create_kwargs"])
            response, reward, metrics = await tool.execute(instance, call.arguments, agent_data=SimpleNamespace(request_id=request_id))
            await tool.release(instance)
            assert "Error" not in response["text"], response
            rewards.append(reward)
        return rewards

    assert asyncio.run(play("trajectory-a")) == [1.0] * len(task.golden_calls)
    assert asyncio.run(play("trajectory-b")) == [1.0] * len(task.golden_calls)
    again = asyncio.run(play("trajectory-a"))
    assert again != [1.0] * len(task.golden_calls), "a repeated call in the same trajectory is not useful again"


def test_sb3_accepts_the_structured_env_as_it_is(pack_dir: Path) -> None:
    from stable_baselines3.common.env_checker import check_env

    from gym_tools.structured import ToolUseStructuredEnv
    from gym_tools.trainers.sb3 import train_ppo

    env = ToolUseStructuredEnv(pack_dir, sandbox="process", levels=[1])
    try:
        check_env(env, warn=False)
    finally:
        env.close()
    model = train_ppo(pack_dir, timesteps=1024, levels=[1])
    assert model.num_timesteps >= 1024


def example(name: str):
    return runpy.run_path(str(Path(__file__).parent.parent / "examples" / f"{name}.py"))["main"]


@pytest.mark.slow
def test_hf_policy_plays_episodes_end_to_end(pack) -> None:
    from gym_tools.env import ToolUseEnv
    from gym_tools.policies import make_policy
    from gym_tools.rollout import episode_specs, run_lockstep

    env = ToolUseEnv(pack, split="all", sandbox="process", tool_format="hermes", max_turns=2)
    try:
        policy = make_policy("hf", pack, {"max_new_tokens": 48})
        specs = episode_specs([t.id for t in pack.tasks], 3, seed=0)
        played = run_lockstep([env], [policy], specs)
    finally:
        env.close()
    assert [t.episode_id for t in played] == [0, 1, 2]
    for trajectory in played:
        assert trajectory.status == "ok" and 0.0 <= trajectory.reward <= 1.0
        assert trajectory.messages[-1]["role"] in ("assistant", "tool")


@pytest.mark.slow
def test_grpo_runs_two_steps_on_smollm2(pack_dir: Path, tmp_path: Path) -> None:
    argv = [str(pack_dir), "--steps", "2", "--batch", "4", "--generations", "2", "--max-completion", "24", "--eval-rows", "4", "--out", str(tmp_path)]
    result = example("trl_grpo")(argv)
    assert result["steps"] == 2 and len(result["train_reward_per_step"]) == 2
    assert all(-1.0 <= r <= 2.0 for r in result["train_reward_per_step"])
    assert json.loads((tmp_path / "result.json").read_text())["steps"] == 2


@pytest.mark.slow
def test_rllib_ppo_learns_level1_single_and_parallel(tmp_path: Path) -> None:
    history = example("rllib_ppo")(["--out", str(tmp_path), "--iterations", "160"])
    before, after = history[0]["success"], history[-1]["success"]
    assert set(after) == {"single", "parallel"}
    assert max(before.values()) < 0.5
    assert min(after.values()) >= 0.9, history

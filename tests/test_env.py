"""The Gymnasium environments over a real pack and a real sandbox."""

from __future__ import annotations

import json
import random
import string
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gym_tools  # noqa: F401  (registers the ids)
from envgen.stages.deploy import answer_text, golden_turns
from gym_tools.env import ToolUseEnv
from gym_tools.formats import render_calls
from gym_tools.parsers import FORMATS
from gym_tools.structured import ToolUseStructuredEnv


@pytest.mark.parametrize("env_id", ["gym_tools/ToolUse-v0", "gym_tools/ToolUseStructured-v0"])
def test_check_env_passes(env_id: str, pack_dir) -> None:
    env = gym.make(env_id, pack=str(pack_dir), sandbox="process")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("tool_format", FORMATS)
def test_golden_replay_earns_one_in_every_format(pack, tool_format: str) -> None:
    env = ToolUseEnv(pack, split="all", tool_format=tool_format, sandbox="process")
    try:
        for task in pack.tasks:
            obs, info = env.reset(options={"task_id": task.id})
            assert json.loads(obs)["messages"][1]["content"] == task.query
            for calls in golden_turns(task):
                obs, reward, terminated, truncated, info = env.step(render_calls(calls, tool_format))
                assert not terminated and not truncated
                assert all(m["content"] and not m["content"].startswith("Error") for m in info["messages"] if m["role"] == "tool")
            obs, reward, terminated, truncated, info = env.step(answer_text(task.answer))
            assert terminated and reward == 1.0 and info["success"], (task.id, info["reward_breakdown"])
    finally:
        env.close()


def test_reset_is_seeded_and_restores_the_world(pack) -> None:
    env = ToolUseEnv(pack, split="all", sandbox="process")
    try:
        first = [env.reset(seed=11)[1]["task_id"], *[env.reset()[1]["task_id"] for _ in range(5)]]
        second = [env.reset(seed=11)[1]["task_id"], *[env.reset()[1]["task_id"] for _ in range(5)]]
        assert first == second
        task = next(t for t in pack.tasks if t.structure == "state_changing")
        for _ in range(2):
            env.reset(options={"task_id": task.id})
            for calls in golden_turns(task):
                env.step(render_calls(calls, "json"))
            assert env.step(answer_text(task.answer))[1] == 1.0, "the second episode starts from the initial world again"
    finally:
        env.close()


def test_turn_limit_truncates(pack) -> None:
    env = ToolUseEnv(pack, split="all", sandbox="process", max_turns=2)
    try:
        env.reset(seed=0)
        assert env.step("{broken")[2:4] == (False, False)
        _, reward, terminated, truncated, info = env.step("{broken")
        assert truncated and not terminated and reward < 1.0 and "reward_breakdown" in info
        with pytest.raises(RuntimeError):
            env.step("more")
    finally:
        env.close()


def test_parse_errors_are_observations(pack) -> None:
    env = ToolUseEnv(pack, split="all", sandbox="process")
    try:
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step("<tool_call>{not json}</tool_call>")
        assert not terminated and info["parse_errors"]
        assert "could not parse" in json.loads(obs)["messages"][-1]["content"]
        obs, *_ = env.step('{"name": "not_offered_tool", "arguments": {}}')
        assert "is not available" in json.loads(obs)["messages"][-1]["content"]
    finally:
        env.close()


def test_structured_budget_ends_the_episode_as_terminal_and_step_rewards_pay_useful_calls(pack) -> None:
    env = ToolUseStructuredEnv(pack, split="all", sandbox="process", max_turns=3, reward_mode="step")
    try:
        task = next(t for t in pack.tasks if t.structure == "single")
        env.reset(options={"task_id": task.id})
        golden_call = env.golden_actions()[0]
        rewards = []
        for _ in range(3):
            _, reward, terminated, truncated, info = env.step(golden_call)
            rewards.append(reward)
        assert rewards[:2] == [1.0, 0.0], "the first golden call is useful, its repeat is not"
        assert terminated and not truncated and info["budget_exhausted"] and info["reward_breakdown"]["answer"] == 0.0
        env.reset(options={"task_id": task.id})
        *_, info = env.step(golden_call)
        _, reward, terminated, _, info = env.step(env.golden_actions()[-1])
        assert terminated and reward == 1.0 and not info["budget_exhausted"] and info["success"]
    finally:
        env.close()


def test_structured_oracle_solves_every_task(pack) -> None:
    env = ToolUseStructuredEnv(pack, split="all", sandbox="process")
    try:
        for task in pack.tasks:
            env.reset(options={"task_id": task.id})
            for action in env.golden_actions():
                assert env.action_space.contains(action)
                _, reward, terminated, truncated, info = env.step(action)
            assert terminated and reward == 1.0, (task.id, info["reward_breakdown"])
        env.reset(seed=1)
        rewards = []
        for _ in range(30):
            env.reset()
            done = False
            while not done:
                _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                done = terminated or truncated
            rewards.append(reward)
        assert np.mean(rewards) < 0.6, "random play must score far below the oracle"
    finally:
        env.close()


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(chars) + 1)
        choice = rng.random()
        if choice < 0.4 and chars:
            del chars[min(position, len(chars) - 1)]
        elif choice < 0.8:
            chars.insert(position, rng.choice(string.printable + "{}[]<>\"'()=,:\\"))
        else:
            chars[position:position] = list(rng.choice(["<tool_call>", "</tool_call>", '{"name":', "(", "null", "1e999", "\\u0000"]))
    return "".join(chars)


@pytest.mark.slow
def test_step_never_raises_on_100k_model_outputs(pack) -> None:
    env = ToolUseEnv(pack, split="all", sandbox="process", max_turns=50, max_calls=500)
    goldens = [render_calls(calls, fmt) for task in pack.tasks for calls in golden_turns(task) if calls for fmt in ("hermes", "python", "json")]
    goldens = [g if isinstance(g, str) else json.dumps(g) for g in goldens]
    state = {"steps": 0}
    env.reset(seed=0)

    outputs = st.one_of(
        st.text(max_size=200),
        st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
        st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20), lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4)).map(json.dumps),
        st.tuples(st.sampled_from(goldens), st.integers(0, 2**32)).map(lambda pair: mutate(pair[0], random.Random(pair[1]))),
        st.sampled_from(goldens),
        st.fixed_dictionaries({"role": st.just("assistant"), "tool_calls": st.lists(st.dictionaries(st.text(max_size=8), st.text(max_size=8)), max_size=3)}),
    )

    @settings(max_examples=2_000, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    @given(st.lists(outputs, min_size=50, max_size=50))
    def run(batch: list) -> None:
        for action in batch:
            _, reward, terminated, truncated, _ = env.step(action)
            assert np.isfinite(reward)
            state["steps"] += 1
            if terminated or truncated:
                env.reset()

    try:
        run()
    finally:
        env.close()
    assert state["steps"] >= 100_000

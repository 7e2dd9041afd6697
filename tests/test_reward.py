"""The reward: golden earns 1, and no hack pays."""

from __future__ import annotations

import pytest

from envgen.models import Answer, Task
from envgen.stages.deploy import answer_text, golden_turns
from gym_tools.answers import Vocabulary, answer_span, numbers_in, score_answer, surfaces
from gym_tools.env import ToolUseEnv
from gym_tools.formats import render_calls
from gym_tools.reward import RewardWeights


@pytest.fixture(scope="module")
def env(pack):
    environment = ToolUseEnv(pack, split="all", tool_format="hermes", sandbox="process", max_turns=40, max_calls=400)
    yield environment
    environment.close()


def play(env: ToolUseEnv, task: Task, turns, answer: str) -> dict:
    env.reset(options={"task_id": task.id})
    info: dict = {}
    for calls in turns:
        if calls:
            _, _, terminated, truncated, info = env.step(render_calls(calls, "hermes"))
            if terminated or truncated:
                return info["reward_breakdown"]
    _, _, _, _, info = env.step(answer)
    return info["reward_breakdown"]


def tool_tasks(pack) -> list[Task]:
    return [t for t in pack.tasks if t.steps]


def test_golden_earns_full_reward(env, pack) -> None:
    for task in pack.tasks:
        assert play(env, task, golden_turns(task), answer_text(task.answer))["reward"] == 1.0, task.id


def test_calling_every_tool_does_not_pay(env, pack) -> None:
    from envgen.models import ToolCall

    for task in tool_tasks(pack)[::3]:
        golden = golden_turns(task)
        spray = [ToolCall(name=name, arguments=call.arguments) for name in task.tools for call in task.golden_calls[:1]]
        result = play(env, task, [spray, *golden], answer_text(task.answer))
        assert result["reward"] < 1.0 and result["precision"] < 1.0, task.id


def test_repeating_calls_does_not_pay(env, pack) -> None:
    for task in tool_tasks(pack)[::3]:
        doubled = [[c for c in turn for _ in range(2)] for turn in golden_turns(task)]
        assert play(env, task, doubled, answer_text(task.answer))["reward"] < 1.0, task.id


def test_dumping_candidate_answers_does_not_pay(env, pack) -> None:
    names = pack.vocabulary_names
    for task in pack.tasks[::3]:
        value = task.answer.value
        dump = f"<answer>{answer_text(task.answer)[8:-9]}, {names[0]}, {names[1]}, 17, 4242.5</answer>"
        result = play(env, task, golden_turns(task), dump)
        assert result["answer"] < 1.0 and result["reward"] < 1.0, (task.id, value)


def test_answering_without_tools_does_not_pay(env, pack) -> None:
    for task in tool_tasks(pack):
        result = play(env, task, [], answer_text(task.answer))
        assert result["reward"] <= 0.5 + 1e-9, task.id
        assert result["completeness"] < 1.0 and result["precision"] == 0.0


def test_side_effects_on_a_read_only_task_cost_state(env, pack) -> None:
    read_only = next(t for t in pack.tasks if t.structure == "single" and t.steps)
    actions = next(t for t in pack.tasks if t.structure == "state_changing")
    env.reset(options={"task_id": read_only.id})
    episode = env.episode
    episode.offered = episode.offered | {c.name for c in actions.golden_calls}
    for call in actions.golden_calls:
        episode.call(call.as_call())
    for turn in golden_turns(read_only):
        episode.turn(turn)
    assert episode.finish(answer_text(read_only.answer)).state == 0.0


def test_step_rewards_follow_the_source_method(pack) -> None:
    task = next(t for t in pack.tasks if t.structure == "parallel")
    env = ToolUseEnv(pack, split="all", tool_format="json", sandbox="process", reward_mode="step")
    try:
        env.reset(options={"task_id": task.id})
        calls = [c.as_call() for c in task.golden_calls]
        _, reward, *_ = env.step(render_calls(calls, "json"))
        assert reward == pytest.approx(2 * len(calls) / (len(calls) + 1))
        _, final, terminated, _, _ = env.step(answer_text(task.answer))
        assert terminated and final == pytest.approx(1.0)
        env.reset(options={"task_id": task.id})
        _, empty, *_ = env.step("")
        assert empty == -0.5
    finally:
        env.close()


def test_weights_are_configurable_and_validated(pack) -> None:
    with pytest.raises(ValueError):
        RewardWeights(answer=0, completeness=0, precision=0, state=0)
    task = next(t for t in pack.tasks if t.steps)
    env = ToolUseEnv(pack, split="all", sandbox="process", reward_weights={"answer": 1, "completeness": 0, "precision": 0, "state": 0})
    try:
        env.reset(options={"task_id": task.id})
        _, reward, *_ = env.step(answer_text(task.answer))
        assert reward == 1.0, "answer-only weights pay a right guess in full"
    finally:
        env.close()


VOCAB = Vocabulary(["Velmora", "Quintara", "sunny"])


@pytest.mark.parametrize(
    ("answer", "text", "score"),
    [
        (Answer(type="number", value=1234567), "<answer>1,234,567</answer>", 1.0),
        (Answer(type="number", value=12.5), "The answer is 12.50.", 1.0),
        (Answer(type="number", value=12.5), "<answer>12.5 or 13</answer>", 0.5),
        (Answer(type="number", value=12.5), "<answer>13</answer>", 0.0),
        (Answer(type="entity", value="Velmora"), "<answer>velmora</answer>", 1.0),
        (Answer(type="entity", value="Velmora"), "<answer>Velmora or Quintara</answer>", 0.5),
        (Answer(type="entity", value="ACC-4402"), "<answer>ACC-4402</answer>", 1.0),
        (Answer(type="list", value=[3, "sunny"]), "<answer>sunny, 3</answer>", 1.0),
        (Answer(type="list", value=[3, "sunny"]), "<answer>3</answer>", 0.5),
        (Answer(type="list", value=[3, 4]), "<answer>3, 4, 5, 6</answer>", 0.5),
        (Answer(type="number", value=3), "", 0.0),
    ],
)
def test_typed_answer_scores(answer: Answer, text: str, score: float) -> None:
    assert score_answer(answer, text, VOCAB) == pytest.approx(score)


def test_answer_helpers() -> None:
    assert answer_span("x <answer>1</answer> y <answer>2</answer>") == "2"
    assert numbers_in("ORD-10030 costs 1,200.5 and -3") == [1200.5, -3.0]
    assert surfaces({"a": {"b": [1, "Velmora"]}}, "velmora")
    assert surfaces({"results": ["B", "A"]}, ["a", "b"])
    assert not surfaces({"a": 1.5}, 1.6)

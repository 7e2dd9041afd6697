"""`gym_tools/ToolUseStructured-v0`: encodable spaces for classic RL libraries (RLlib, Stable-Baselines3).

Per task, the offered tools fill `max_tools` slots, candidate argument values fill `max_values` slots
(the golden values, the enum values of the offered tools, and decoys), and candidate final answers
fill `max_answers` slots; all in a seeded order, so slot positions carry no hint.

Action, `MultiDiscrete([2, T, V, V, V, V, A])`: `[mode, tool, value_1, ..., value_4, answer]`.
Mode 0 calls tool slot `tool`, setting its parameters (required ones first, then optional ones, at most
four) to the chosen values; an empty value slot leaves that parameter out (the last value slot is always
empty). Mode 1 gives answer slot `answer` as the final answer.

Observation, `Box(0, 1, (4T + 6V + 4TV + TV + 4A + 3,))`, by slot:
- tool: present, word overlap of its name and description with the query, times called (/3), last call ok;
- value: present, appears in the query, order of first mention among the query's values (/count), appears in
  a tool result so far, is a number, passed in a call so far;
- fit, per tool, parameter position and value: the value suits that parameter (in its enum; a number for a
  numeric one; free text for a string without enum; an object or list for one of those), which is what a
  text agent reads off the schema;
- used, per tool and value: the value was passed to that tool so far;
- answer: present, share of its parts found in tool results so far, appears in the query, parts (/4);
- global: turns used, calls used, share of calls so far that returned without error.
An episode ends, terminated, on a final answer or when the turn budget is spent (`info["budget_exhausted"]`):
the budget is part of the observation and the episode is scored either way, so unlike a time limit there
is nothing after it for a learner to bootstrap from.
The reward is the text environment's (same scorer, same weights); `reward_mode="step"` also pays each call
step its per-turn reward and the answer step its final-turn reward, and `reward_mode="shaped"` adds the
episode reward on the last step, as in the text environment.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envgen.models import Task, ToolCall
from envgen.pack import PackData
from envgen.stages.deploy import answer_text, format_value
from envgen.world import TYPES
from gym_tools.env import REWARD_MODES, cached_pack, episode_step_reward
from gym_tools.episode import Episode, PackRuntime
from gym_tools.reward import RewardWeights
from sandbox import Limits, Sandbox, open_sandbox

ARGS_PER_CALL = 4
FIELD_PHRASES: dict[str, set[str]] = {}
for entity_field in (f for entity in TYPES.values() for f in entity.fields):
    FIELD_PHRASES.setdefault(entity_field.name, set()).add(entity_field.phrase)
WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower().replace("_", " ")))


def value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class TaskSlots:
    """The per-task candidates: tools, argument values and answers, in a seeded order."""

    def __init__(self, pack: PackData, task: Task, max_tools: int, max_values: int, max_answers: int) -> None:
        rng = random.Random(f"slots:{task.id}")
        self.tools = list(task.tools)[:max_tools]
        rng.shuffle(self.tools)
        golden = [v for call in task.golden_calls for v in call.arguments.values()]
        enums = [e for name in self.tools for p in pack.schemas[name].function.parameters["properties"].values() for e in p.get("enum", [])]
        decoys = rng.sample(pack.vocabulary_names, min(len(pack.vocabulary_names), max_values))
        seen: dict[str, Any] = {}
        for value in golden + enums + decoys:
            if len(seen) >= max_values - 1:
                break
            seen.setdefault(value_key(value), value)
        self.values = list(seen.values())
        rng.shuffle(self.values)
        answers = {answer_text(task.answer)}
        for _ in range(4 * max_answers):
            if len(answers) >= (max_answers + 1) // 2:
                break
            answers.add(answer_text(task.answer.model_copy(update={"value": near_miss(task.answer.value, pack.vocabulary_names, rng)})))
        pool = [format_value(v) for v in self.values if not isinstance(v, (dict, list))] + pack.vocabulary_names
        while len(answers) < max_answers and pool:
            answers.add(f"<answer>{pool.pop(rng.randrange(len(pool)))}</answer>")
        self.answers = sorted(answers)
        rng.shuffle(self.answers)
        query_words = words(task.query)
        self.tool_overlap = [len(query_words & words(n + " " + pack.schemas[n].function.description)) / max(1, len(query_words)) for n in self.tools]
        folded = task.query.casefold()
        positions = {i: at for i, v in enumerate(self.values) if (at := mention(v, folded)) is not None}
        self.value_in_query = [i in positions for i in range(len(self.values))]
        order = sorted(positions, key=positions.__getitem__)
        self.mention_order = [(order.index(i) + 1) / len(order) if i in positions else 0.0 for i in range(len(self.values))]
        self.answer_in_query = [a[len("<answer>") : -len("</answer>")].casefold() in folded for a in self.answers]
        self.answer_parts = [[part.strip().casefold() for part in a[len("<answer>") : -len("</answer>")].split(",") if part.strip()] for a in self.answers]
        self.fit = np.zeros((max_tools, ARGS_PER_CALL, max_values), dtype=np.float32)
        enum_values = {value_key(e) for e in enums}
        for t, name in enumerate(self.tools):
            properties = pack.schemas[name].function.parameters["properties"]
            for k, param in enumerate(parameter_order(pack, name)):
                for v, value in enumerate(self.values):
                    noun = pack.name_nouns.get(value) if isinstance(value, str) else None
                    self.fit[t, k, v] = float(fits(param, properties[param], value, value_key(value) in enum_values, noun))


def near_miss(value: Any, names: list[str], rng: random.Random) -> Any:
    """The answer with one part changed: half the decoy answers are these, so that only the results of
    every needed call tell the right answer apart (a candidate list must not let a policy guess)."""
    if isinstance(value, list) and value:
        changed = list(value)
        at = rng.randrange(len(changed))
        changed[at] = near_miss(changed[at], names, rng)
        return changed
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return rng.choice(names)
    factor = rng.choice((0.5, 0.8, 1.25, 1.7))
    if isinstance(value, int):
        return int(round(value * factor)) or value + 1
    return round(value * factor, 4)


def mention(value: Any, folded_query: str) -> int | None:
    """Where the query names the value: verbatim, or for a field name through the phrase that the
    queries use for it ("founded" as "founding year"), as a reader of the query would see it."""
    if isinstance(value, (dict, list)):
        return None
    phrases = sorted(FIELD_PHRASES.get(value, ())) if isinstance(value, str) else []
    for text in [format_value(value), *phrases]:
        at = folded_query.find(text.casefold())
        if at >= 0:
            return at
    return None


def parameter_order(pack: PackData, name: str) -> list[str]:
    """Required parameters first, then optional ones, at most `ARGS_PER_CALL`: the value slots' order."""
    schema = pack.schemas[name].function.parameters
    required = list(schema["required"])
    return (required + [p for p in schema["properties"] if p not in required])[:ARGS_PER_CALL]


def fits(param: str, prop: dict[str, Any], value: Any, is_enum_value: bool, noun: str | None) -> bool:
    """Whether a value suits a parameter, as far as its schema and the kind of thing the value names tell."""
    if "enum" in prop:
        return value in prop["enum"]
    kind = prop.get("type")
    if kind in ("integer", "number"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str) and not is_enum_value and (noun is None or words(noun) <= words(param + " " + prop.get("description", "")))
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return kind == "boolean" and isinstance(value, bool)


class ToolUseStructuredEnv(gym.Env[np.ndarray, np.ndarray]):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        pack: str | Path | PackData,
        split: str = "train",
        sandbox: str | Sandbox = "auto",
        max_turns: int = 8,
        max_tools: int = 16,
        max_values: int = 24,
        max_answers: int = 8,
        levels: list[int] | None = None,
        structures: list[str] | None = None,
        reward_weights: RewardWeights | dict[str, float] | None = None,
        reward_mode: str = "final",
        limits: Limits | None = None,
        render_mode: str | None = None,
    ) -> None:
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        self.reward_mode = reward_mode
        self.pack = pack if isinstance(pack, PackData) else cached_pack(pack)
        self.tasks = [
            t for t in self.pack.split(split) if (levels is None or t.level in levels) and (structures is None or t.structure in structures)
        ]
        if not self.tasks:
            raise ValueError(f"no tasks in split {split!r} for levels {levels} and structures {structures}")
        self.max_turns, self.max_tools, self.max_values, self.max_answers = max_turns, max_tools, max_values, max_answers
        self.weights = RewardWeights.model_validate(reward_weights) if isinstance(reward_weights, dict) else reward_weights
        self.render_mode = render_mode
        self._owns_session = not isinstance(sandbox, Sandbox)
        self.session = open_sandbox(sandbox, limits) if isinstance(sandbox, str) else sandbox
        self.runtime = PackRuntime(self.pack, self.session)
        self.action_space = spaces.MultiDiscrete([2, max_tools, *[max_values] * ARGS_PER_CALL, max_answers])
        size = 4 * max_tools + 6 * max_values + 5 * max_tools * max_values + 4 * max_answers + 3
        self.observation_space = spaces.Box(low=0.0, high=1.0, shape=(size,), dtype=np.float32)
        self._slots_cache: dict[str, TaskSlots] = {}
        self.task: Task | None = None
        self.episode: Episode | None = None
        self.slots: TaskSlots | None = None
        self.log: list[str] = []

    def _slots(self, task: Task) -> TaskSlots:
        if task.id not in self._slots_cache:
            self._slots_cache[task.id] = TaskSlots(self.pack, task, self.max_tools, self.max_values, self.max_answers)
        return self._slots_cache[task.id]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        self.task = self.pack.task(task_id) if task_id else self.tasks[int(self.np_random.integers(len(self.tasks)))]
        self.slots = self._slots(self.task)
        self.episode = self.runtime.episode(self.task, self.weights)
        self.turns = 0
        self.called = [0] * self.max_tools
        self.used = np.zeros((self.max_tools, self.max_values), dtype=np.float32)
        self.last_ok = [0.0] * self.max_tools
        self.results_text = ""
        self.ok_calls = 0
        self.log = [f"query: {self.task.query}"]
        return self._observation(), {"task_id": self.task.id, "structure": self.task.structure, "level": self.task.level}

    def _observation(self) -> np.ndarray:
        assert self.slots is not None
        s, folded = self.slots, self.results_text.casefold()
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        tools = np.zeros((self.max_tools, 4), dtype=np.float32)
        for i in range(len(s.tools)):
            tools[i] = (1.0, min(1.0, s.tool_overlap[i]), min(1.0, self.called[i] / 3), self.last_ok[i])
        values = np.zeros((self.max_values, 6), dtype=np.float32)
        passed = self.used.max(axis=0)
        for i, value in enumerate(s.values):
            text = format_value(value).casefold() if not isinstance(value, (dict, list)) else ""
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            values[i] = (1.0, float(s.value_in_query[i]), s.mention_order[i], float(bool(text) and text in folded), float(numeric), passed[i])
        answers = np.zeros((self.max_answers, 4), dtype=np.float32)
        for i, parts in enumerate(s.answer_parts):
            found = sum(part in folded for part in parts) / len(parts) if parts else 0.0
            answers[i] = (1.0, found, float(s.answer_in_query[i]), min(1.0, len(parts) / 4))
        calls = len(self.episode.scorer.records) if self.episode else 0
        tail = np.array([self.turns / self.max_turns, min(1.0, calls / (2 * self.max_turns)), self.ok_calls / calls if calls else 0.0], dtype=np.float32)
        obs[:] = np.concatenate([tools.ravel(), values.ravel(), s.fit.ravel(), self.used.ravel(), answers.ravel(), tail])
        return obs

    def _call(self, tool_slot: int, value_slots: list[int]) -> float:
        """Make the call; its per-turn reward in step mode, else 0."""
        assert self.episode is not None and self.slots is not None
        if tool_slot >= len(self.slots.tools):
            record = self.episode.scorer.record_malformed(f"tool slot {tool_slot} is empty")
            self.log.append(f"call: empty tool slot {tool_slot}")
            return self.episode.scorer.turn_reward([record]) if self.reward_mode != "final" else 0.0
        name = self.slots.tools[tool_slot]
        pairs = [(param, v) for param, v in zip(self.parameters(name), value_slots, strict=False) if v < len(self.slots.values)]
        arguments = {param: self.slots.values[v] for param, v in pairs}
        self.used[tool_slot, [v for _, v in pairs]] = 1.0
        call = ToolCall(name=name, arguments=arguments)
        result, record = self.episode.call(call)
        self.called[tool_slot] += 1
        self.last_ok[tool_slot] = float(result.ok)
        self.ok_calls += int(result.ok)
        text = result.as_text()
        self.results_text += "\n" + text
        self.log.append(f"call: {name}({call.arguments}) -> {text[:200]}")
        return self.episode.scorer.turn_reward([record]) if self.reward_mode != "final" else 0.0

    def parameters(self, name: str) -> list[str]:
        return parameter_order(self.pack, name)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.episode is None or self.slots is None or self.task is None:
            raise RuntimeError("step() called before reset()")
        mode, tool, *value_slots, answer = (int(a) for a in np.asarray(action).ravel()[: ARGS_PER_CALL + 3])
        self.turns += 1
        info: dict[str, Any] = {"task_id": self.task.id}
        if mode == 0:
            step_reward = self._call(tool, value_slots)
            if self.turns < self.max_turns:
                return self._observation(), step_reward, False, False, info
            text: str | None = None
        else:
            text = self.slots.answers[answer] if answer < len(self.slots.answers) else ""
            step_reward = self.episode.scorer.final_turn_reward(text)
            self.log.append(f"answer: {text}")
        breakdown = self.episode.finish(text)
        info.update(reward_breakdown=breakdown.model_dump(mode="json"), success=breakdown.reward >= 1.0)
        self.episode = None
        reward = episode_step_reward(self.reward_mode, breakdown.reward, step_reward)
        info["budget_exhausted"] = text is None
        return self._observation(), float(reward), True, False, info

    def golden_actions(self) -> list[np.ndarray]:
        """The golden solution as actions of this space (for tests and oracle policies)."""
        assert self.task is not None and self.slots is not None
        keys = [value_key(v) for v in self.slots.values]
        actions = []
        empty = len(self.slots.values)
        for call in self.task.golden_calls:
            params = self.parameters(call.name)
            picks = [keys.index(value_key(call.arguments[p])) if p in call.arguments else empty for p in params]
            picks += [empty] * (ARGS_PER_CALL - len(picks))
            actions.append(np.array([0, self.slots.tools.index(call.name), *picks, 0]))
        actions.append(np.array([1, 0, *[0] * ARGS_PER_CALL, self.slots.answers.index(answer_text(self.task.answer))]))
        return actions

    def render(self) -> str | None:
        return "\n".join(self.log) if self.render_mode == "ansi" else None

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

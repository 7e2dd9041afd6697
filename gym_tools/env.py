"""`gym_tools/ToolUse-v0`: the text-mode environment for LLM trainers.

Observation: a `Text` space holding JSON (ASCII only, non-ASCII escaped) of
`{"task_id": ..., "messages": [{"role", "content", ...}], "tools": [OpenAI schemas]}`;
`json.loads(obs)` gives the conversation back, and `info["messages"]` carries it as objects too.
Action: the model's raw output text (cut at 65,536 characters), or an OpenAI-style assistant message dict.
An episode ends on a final answer (terminated) or on the turn or call budget (truncated).
"""

from __future__ import annotations

import functools
import json
import string
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from envgen.models import Task
from envgen.pack import PackData, load_pack
from gym_tools.episode import Episode, PackRuntime
from gym_tools.formats import system_prompt
from gym_tools.parsers import FORMATS, ParsedTurn, parse
from gym_tools.reward import RewardBreakdown, RewardWeights
from sandbox import Limits, Sandbox, open_sandbox

OBS_CHARSET = string.printable
MAX_ACTION = 65_536
MAX_OBSERVATION = 64 * 1024 * 1024
REWARD_MODES = ("final", "step", "shaped")


@functools.lru_cache(maxsize=8)
def _cached_pack(path: str, stamp: float) -> PackData:
    return load_pack(path)


def cached_pack(path: str | Path) -> PackData:
    """Envs in one process share one loaded pack (reloaded if the manifest changes)."""
    resolved = Path(path).resolve()
    return _cached_pack(str(resolved), (resolved / "manifest.json").stat().st_mtime)


def episode_step_reward(mode: str, episode_reward: float, turn_reward: float) -> float:
    """The last step's reward: the episode's (final), the turn's (step), or both (shaped: per-turn
    rewards to guide, the episode reward to judge, so that calls that help nothing still cost)."""
    if mode == "final":
        return episode_reward
    return turn_reward + (episode_reward if mode == "shaped" else 0.0)


class ToolUseEnv(gym.Env[str, Any]):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        pack: str | Path | PackData,
        split: str = "train",
        tool_format: str = "auto",
        sandbox: str | Sandbox = "auto",
        max_turns: int = 10,
        max_calls: int = 32,
        reward_mode: str = "final",
        reward_weights: RewardWeights | dict[str, float] | None = None,
        limits: Limits | None = None,
        render_mode: str | None = None,
    ) -> None:
        if tool_format not in ("auto", *FORMATS):
            raise ValueError(f"tool_format must be auto or one of {FORMATS}, got {tool_format!r}")
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        self.pack = pack if isinstance(pack, PackData) else cached_pack(pack)
        self.tasks = self.pack.split(split)
        if not self.tasks:
            raise ValueError(f"the pack has no tasks in split {split!r}")
        self.tool_format = tool_format
        self.max_turns = max_turns
        self.max_calls = max_calls
        self.reward_mode = reward_mode
        self.weights = RewardWeights.model_validate(reward_weights) if isinstance(reward_weights, dict) else reward_weights
        self.render_mode = render_mode
        self._owns_session = not isinstance(sandbox, Sandbox)
        self.session = open_sandbox(sandbox, limits) if isinstance(sandbox, str) else sandbox
        self.runtime = PackRuntime(self.pack, self.session)
        self.observation_space = spaces.Text(max_length=MAX_OBSERVATION, min_length=0, charset=OBS_CHARSET)
        self.action_space = spaces.Text(max_length=MAX_ACTION, min_length=0, charset=OBS_CHARSET)
        self.task: Task | None = None
        self.episode: Episode | None = None
        self.messages: list[dict[str, Any]] = []
        self._encoded: list[str] = []
        self._tools_cache: dict[str, str] = {}
        self.turns = 0
        self.calls = 0
        self.done = True

    def _observation(self) -> str:
        """Each message is encoded once, when it is added; a step only joins the encoded pieces."""
        assert self.task is not None
        while len(self._encoded) < len(self.messages):
            self._encoded.append(json.dumps(self.messages[len(self._encoded)], ensure_ascii=True))
        return f'{{"task_id": {json.dumps(self.task.id)}, "messages": [{", ".join(self._encoded)}], "tools": {self._tools_json(self.task.id)}}}'

    def _tools_json(self, task_id: str) -> str:
        if task_id not in self._tools_cache:
            schemas = self.pack.schemas_for(self.pack.task(task_id))
            self._tools_cache[task_id] = json.dumps([s.model_dump(mode="json") for s in schemas], ensure_ascii=True)
        return self._tools_cache[task_id]

    def _info(self, **extra: Any) -> dict[str, Any]:
        assert self.task is not None
        return {"task_id": self.task.id, "structure": self.task.structure, "level": self.task.level, "messages": self.messages, **extra}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        self.task = self.pack.task(task_id) if task_id else self.tasks[int(self.np_random.integers(len(self.tasks)))]
        self.episode = self.runtime.episode(self.task, self.weights)
        prompt_format = "openai" if self.tool_format == "auto" else self.tool_format
        self.messages = [
            {"role": "system", "content": system_prompt(self.pack.schemas_for(self.task), prompt_format)},
            {"role": "user", "content": self.task.query},
        ]
        self._encoded = []
        self.turns = 0
        self.calls = 0
        self.done = False
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.done or self.episode is None:
            raise RuntimeError("step() called before reset() or after the episode ended")
        self.turns += 1
        if isinstance(action, str) and len(action) > MAX_ACTION:
            action = action[:MAX_ACTION]
        turn = parse(action, self.tool_format)
        if turn.is_final:
            return self._finish(turn.content, truncated=False)
        reward = self._tool_turn(turn)
        if self.turns >= self.max_turns or self.calls >= self.max_calls:
            return self._finish(None, truncated=True, turn_reward=reward)
        return self._observation(), reward, False, False, self._info(parse_errors=turn.errors)

    def _tool_turn(self, turn: ParsedTurn) -> float:
        assert self.episode is not None
        self.messages.append(
            {
                "role": "assistant",
                "content": turn.content,
                "tool_calls": [
                    {"id": f"call_{self.turns}_{i}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                    for i, c in enumerate(turn.calls)
                ],
            }
        )
        scorer = self.episode.scorer
        malformed = [scorer.record_malformed(error) for error in turn.errors]
        for error in turn.errors:
            self.messages.append({"role": "tool", "tool_call_id": f"parse_{self.turns}", "name": "parse_error", "content": f"Error: could not parse a tool call: {error}"})
        budget = max(0, self.max_calls - self.calls)
        allowed, refused = turn.calls[:budget], turn.calls[budget:]
        results, records = self.episode.turn(allowed)
        self.calls += len(turn.calls) + len(turn.errors)
        for i, (call, result) in enumerate(zip(allowed, results, strict=True)):
            self.messages.append({"role": "tool", "tool_call_id": f"call_{self.turns}_{i}", "name": call.name, "content": result.as_text()})
        for call in refused:
            malformed.append(scorer.record_malformed(f"call budget of {self.max_calls} exhausted"))
            self.messages.append({"role": "tool", "tool_call_id": "refused", "name": call.name, "content": "Error: call budget exhausted"})
        return scorer.turn_reward(records + malformed) if self.reward_mode != "final" else 0.0

    def _finish(self, answer: str | None, truncated: bool, turn_reward: float = 0.0) -> tuple[str, float, bool, bool, dict[str, Any]]:
        assert self.episode is not None
        if answer is not None:
            self.messages.append({"role": "assistant", "content": answer})
        step_final = self.episode.scorer.final_turn_reward(answer)
        breakdown: RewardBreakdown = self.episode.finish(answer)
        self.done = True
        reward = episode_step_reward(self.reward_mode, breakdown.reward, turn_reward if truncated else step_final)
        info = self._info(reward_breakdown=breakdown.model_dump(mode="json"), episode_reward=breakdown.reward, success=breakdown.reward >= 1.0)
        return self._observation(), float(reward), not truncated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return "\n".join(f"[{m['role']}] {m.get('content', '')}" + (f" {m['tool_calls']}" if m.get("tool_calls") else "") for m in self.messages)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

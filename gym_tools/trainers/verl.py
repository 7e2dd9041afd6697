"""verl: a reward function in verl's `compute_score` form and a tool class for its multi-turn tool agent
loop, both backed by the same sandboxed env and reward as everything else.

- `compute_score(data_source, solution_str, ground_truth, extra_info)`: `ground_truth` is the JSON that
  `verl_rows` writes ({"pack", "task_id"}, plus "step" for step rows). A step row scores the solution as the
  next turn after the golden prefix (like the TRL reward); an episode row replays every `<tool_call>` of
  the solution in a fresh env and returns the full episode reward (precision, completeness, answer, state).
- `EnvgenTool`: verl instantiates it per tool from the YAML that `write_tool_config` writes
  (`actor_rollout_ref.rollout.multi_turn.tool_config_path`). verl 0.9's loop creates and releases a tool
  instance around every call, so the world state lives per trajectory (keyed by the agent loop's
  `request_id`), loaded with the row's task from `tools_kwargs` and released least recently used first.

verl pins transformers < 5.11 and brings its own training stack, so it is not a dependency here: these
follow verl 0.9.1's signatures (`verl/tools/base_tool.py`, `verl/utils/reward_score/__init__.py`), and
the tests drive them through exactly those calls.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from envgen.models import ToolCall
from envgen.pack import PackData
from gym_tools.env import ToolUseEnv, cached_pack
from gym_tools.episode import Episode, PackRuntime
from gym_tools.formats import render_calls
from gym_tools.parsers import parse
from gym_tools.trainers.export import ChatMessage, step_rows
from gym_tools.trainers.trl import EnvReward
from sandbox import open_sandbox

DATA_SOURCE = "envgen"
ANSWER = "<answer>"


@functools.lru_cache(maxsize=8)
def step_reward(pack: str) -> EnvReward:
    return EnvReward(pack)


@functools.lru_cache(maxsize=8)
def episode_env(pack: str) -> ToolUseEnv:
    return ToolUseEnv(cached_pack(pack), split="all", tool_format="hermes", sandbox="process", max_turns=64, max_calls=64)


def replay_score(pack: str, task_id: str, solution: str) -> dict[str, Any]:
    """Every `<tool_call>` in the solution, in order, then the last `<answer>`: the episode's breakdown."""
    env = episode_env(pack)
    env.reset(options={"task_id": task_id})
    turn = parse(solution, "hermes")
    info: dict[str, Any] = {}
    if turn.calls:
        _, _, terminated, truncated, info = env.step(render_calls(turn.calls, "hermes"))
        if terminated or truncated:
            return info["reward_breakdown"]
    start = solution.rfind(ANSWER)
    answer = solution[start:] if start >= 0 else ""
    _, _, _, _, info = env.step(answer or "<answer></answer>")
    return info["reward_breakdown"]


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
    """verl's custom reward function: `score` is the reward, the other keys are logged as metrics."""
    truth = json.loads(ground_truth)
    if "step" in truth:
        return {"score": step_reward(truth["pack"]).score(truth["task_id"], int(truth["step"]), solution_str)}
    breakdown = replay_score(truth["pack"], truth["task_id"], solution_str)
    return {"score": breakdown["reward"], **{k: breakdown[k] for k in ("precision", "completeness", "answer", "state")}}


class RewardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    style: str = "rule"
    ground_truth: str


class VerlExtraInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    split: str
    index: int
    task_id: str
    structure: str
    level: int
    tools_kwargs: dict[str, dict[str, dict[str, str]]]


class VerlRow(BaseModel):
    """A row of verl's RL dataset layout."""

    model_config = ConfigDict(extra="forbid")
    data_source: str = DATA_SOURCE
    prompt: list[ChatMessage]
    ability: str = "tool_use"
    reward_model: RewardSpec
    extra_info: VerlExtraInfo


def verl_rows(pack: str | Path, split: str = "train", prefixes: bool = False) -> list[VerlRow]:
    """The prompt is the system + query for episode rows, or the golden prefix for step rows; the tools'
    `create_kwargs` tell `EnvgenTool` which task's world a trajectory plays in. Every row names every tool
    of the pack, so Parquet stores one struct for all rows (a tool missing from some rows would read back
    as None there, which verl's loop cannot use); a call of a tool the task does not offer gets an error."""
    path = str(Path(pack).resolve())
    names = sorted(cached_pack(path).schemas)
    rows = []
    for index, row in enumerate(step_rows(path, split, "hermes", prefixes=prefixes)):
        truth = {"pack": path, "task_id": row.task_id, **({"step": row.step} if prefixes else {})}
        create = {"create_kwargs": {"pack": path, "task_id": row.task_id}}
        tools = {name: create for name in names}
        info = VerlExtraInfo(split=row.split, index=index, task_id=row.task_id, structure=row.structure, level=row.level, tools_kwargs=tools)
        rows.append(VerlRow(prompt=row.prompt, reward_model=RewardSpec(ground_truth=json.dumps(truth)), extra_info=info))
    return rows


def write_tool_config(pack: str | Path, path: Path) -> Path:
    """The YAML that verl's tool registry reads: one `EnvgenTool` entry per tool schema of the pack."""
    import yaml

    data = cached_pack(pack)
    tools = [
        {"class_name": f"{__name__}.EnvgenTool", "config": {"type": "native", "pack": str(Path(pack).resolve())}, "tool_schema": schema.model_dump(mode="json")}
        for _, schema in sorted(data.schemas.items())
    ]
    path.write_text(yaml.safe_dump({"tools": tools}, sort_keys=False), encoding="utf-8")
    return path


class TrajectoryWorlds:
    """One sandboxed world per live trajectory, dropped least recently used first."""

    def __init__(self, capacity: int = 64, sandbox: str = "process") -> None:
        self.capacity = capacity
        self.sandbox = sandbox
        self.live: OrderedDict[str, tuple[PackRuntime, Episode]] = OrderedDict()

    def episode(self, key: str, pack: PackData, task_id: str) -> Episode:
        if key in self.live:
            self.live.move_to_end(key)
            return self.live[key][1]
        runtime = PackRuntime(pack, open_sandbox(self.sandbox))
        episode = runtime.episode(pack.task(task_id))
        self.live[key] = (runtime, episode)
        while len(self.live) > self.capacity:
            old, _ = self.live.popitem(last=False)[1]
            old.session.close()
        return episode

    def close(self) -> None:
        for runtime, _ in self.live.values():
            runtime.session.close()
        self.live.clear()


WORLDS = TrajectoryWorlds()


class EnvgenTool:
    """A pack tool for verl's tool agent loop (verl's `BaseTool` contract, duck-typed)."""

    def __init__(self, config: dict[str, Any], tool_schema: Any) -> None:
        self.config = dict(config)
        self.tool_schema = tool_schema
        schema = tool_schema if isinstance(tool_schema, dict) else tool_schema.model_dump()
        self.name = schema["function"]["name"]
        self.pack = cached_pack(self.config["pack"])
        self.instances: dict[str, dict[str, Any]] = {}

    def get_openai_tool_schema(self) -> Any:
        return self.tool_schema

    async def create(self, instance_id: str | None = None, **kwargs: Any) -> tuple[str, Any]:
        instance_id = instance_id or f"{self.name}-{uuid.uuid4().hex}"
        self.instances[instance_id] = dict(kwargs.get("create_kwargs") or {})
        return instance_id, tool_response("")

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs: Any) -> tuple[Any, float, dict[str, Any]]:
        create = self.instances.get(instance_id, {})
        if "task_id" not in create:
            return tool_response("Error: this tool was created without a task_id in tools_kwargs"), 0.0, {}
        agent_data = kwargs.get("agent_data")
        key = str(getattr(agent_data, "request_id", None) or create.get("trajectory") or instance_id)
        episode = WORLDS.episode(key, self.pack, create["task_id"])
        if not isinstance(parameters, dict):
            record = episode.scorer.record_malformed(f"arguments of {self.name} are not a JSON object")
            return tool_response(f"Error: {record.error}"), 0.0, {"useful": False}
        result, record = episode.call(ToolCall(name=self.name, arguments=parameters))
        return tool_response(result.as_text()), episode.scorer.turn_reward([record]), {"useful": record.useful, "status": result.status}

    async def calc_reward(self, instance_id: str, **kwargs: Any) -> float:
        return 0.0

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        self.instances.pop(instance_id, None)


def tool_response(text: str) -> Any:
    """verl's `ToolResponse` when verl is installed, else the same fields as a dict."""
    try:
        from verl.tools.schemas import ToolResponse
    except ImportError:
        return {"text": text}
    return ToolResponse(text=text)

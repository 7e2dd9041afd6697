"""`envgen check`: the verifiable-reward unit checks of a pack, end to end through `env.step`.

For every task, the golden solution replayed in every tool-call format must earn 1.0, and every
corruption of it (wrong tool, wrong argument, missing step, spam calls, no calls, wrong answer,
state left unchanged, needless calls) must earn less; the report names the components that caught it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from envgen.models import Task, ToolCall
from envgen.pack import PackData
from envgen.stages.deploy import answer_text, corruptions, golden_turns
from gym_tools.env import ToolUseEnv
from gym_tools.formats import render_calls
from gym_tools.parsers import FORMATS

COMPONENTS = ("answer", "completeness", "precision", "state")


class CaseResult(BaseModel):
    task_id: str
    case: str
    tool_format: str
    reward: float
    caught_by: list[str]


class CheckReport(BaseModel):
    tasks: int = 0
    cases: int = 0
    failures: list[CaseResult] = Field(default_factory=list)
    summary: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures and self.tasks > 0


def play(env: ToolUseEnv, task: Task, turns: list[list[ToolCall]], answer: str, tool_format: str) -> dict[str, Any]:
    env.reset(options={"task_id": task.id})
    info: dict[str, Any] = {}
    done = False
    for calls in turns:
        if calls:
            _, _, terminated, truncated, info = env.step(render_calls(calls, tool_format))
            done = terminated or truncated
            if done:
                break
    if not done:
        _, _, _, _, info = env.step(answer)
    return dict(info["reward_breakdown"])


def check_pack(pack: PackData, sandbox: str = "auto", formats: tuple[str, ...] = FORMATS, progress: Callable[[int, int], None] | None = None) -> CheckReport:
    report = CheckReport()
    stats: dict[str, dict[str, Any]] = defaultdict(lambda: {"cases": 0, "failed": 0, "reward_sum": 0.0, "caught_by": defaultdict(int)})
    envs = {fmt: ToolUseEnv(pack, split="all", tool_format=fmt, sandbox=sandbox, max_turns=50, max_calls=200) for fmt in formats}
    try:
        for number, task in enumerate(pack.tasks, 1):
            rng = random.Random(f"check:{task.id}")
            cases: list[tuple[str, str, list[list[ToolCall]], str]] = [("golden", fmt, golden_turns(task), answer_text(task.answer)) for fmt in formats]
            for kind, (turns, answer) in corruptions(task, pack.vocabulary_names, rng).items():
                cases.append((kind, formats[number % len(formats)], turns, answer))
            for case, fmt, turns, answer in cases:
                breakdown = play(envs[fmt], task, turns, answer, fmt)
                reward = float(breakdown["reward"])
                caught = [c for c in COMPONENTS if breakdown[c] < 1.0]
                result = CaseResult(task_id=task.id, case=case, tool_format=fmt, reward=reward, caught_by=caught)
                failed = reward < 1.0 if case == "golden" else reward >= 1.0
                entry = stats[case]
                entry["cases"] += 1
                entry["reward_sum"] += reward
                entry["failed"] += int(failed)
                for component in caught:
                    entry["caught_by"][component] += 1
                if failed:
                    report.failures.append(result)
                report.cases += 1
            report.tasks += 1
            if progress:
                progress(number, len(pack.tasks))
    finally:
        for env in envs.values():
            env.close()
    report.summary = {
        case: {"cases": s["cases"], "failed": s["failed"], "mean_reward": round(s["reward_sum"] / s["cases"], 4), "caught_by": dict(s["caught_by"])}
        for case, s in sorted(stats.items())
    }
    return report

"""Parallel rollouts on Ray: N actors, each holding K environments stepped in lockstep.

Episodes are sent to actors in small chunks and come back keyed by episode id. When an actor dies,
its chunk goes to a fresh actor (up to `retries` times); what still fails is returned as a failed
trajectory with the error, so no episode is ever silently lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from gym_tools.env import ToolUseEnv, cached_pack
from gym_tools.policies import make_policy
from sandbox import SandboxPool


class EpisodeSpec(BaseModel):
    episode_id: int
    task_id: str
    seed: int


class Trajectory(BaseModel):
    episode_id: int
    task_id: str
    status: Literal["ok", "failed"] = "ok"
    structure: str = ""
    level: int = 0
    policy: str = ""
    messages: list[dict[str, Any]] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    reward: float = 0.0
    breakdown: dict[str, Any] = Field(default_factory=dict)
    turns: int = 0
    parse_errors: int = 0
    error: str | None = None


def run_lockstep(envs: list[ToolUseEnv], policies: list[Any], specs: list[EpisodeSpec]) -> list[Trajectory]:
    """Plays the episodes with up to len(envs) of them in flight, one step of each per round."""
    pending = list(specs)
    active: dict[int, tuple[EpisodeSpec, str, int]] = {}
    done: list[Trajectory] = []
    while pending or active:
        for slot in range(len(envs)):
            if slot not in active and pending:
                spec = pending.pop(0)
                observation, _ = envs[slot].reset(seed=spec.seed, options={"task_id": spec.task_id})
                policies[slot].begin(envs[slot].task, spec.seed)
                active[slot] = (spec, observation, 0)
        for slot, (spec, observation, parse_errors) in list(active.items()):
            env = envs[slot]
            observation, _, terminated, truncated, info = env.step(policies[slot].act(observation))
            parse_errors += len(info.get("parse_errors", []))
            if not (terminated or truncated):
                active[slot] = (spec, observation, parse_errors)
                continue
            del active[slot]
            breakdown = info["reward_breakdown"]
            task = env.task
            assert task is not None
            done.append(
                Trajectory(
                    episode_id=spec.episode_id,
                    task_id=spec.task_id,
                    structure=task.structure,
                    level=task.level,
                    policy=policies[slot].name,
                    messages=info["messages"],
                    calls=breakdown.pop("records"),
                    reward=info["episode_reward"],
                    breakdown=breakdown,
                    turns=env.turns,
                    parse_errors=parse_errors,
                )
            )
    return done


class RolloutWorker:
    """The actor: K environments over one pack, each with its own sandbox session and policy."""

    def __init__(self, pack: str, envs: int, policy: str, policy_options: dict[str, Any], env_options: dict[str, Any]) -> None:
        loaded = cached_pack(pack)
        options = dict(env_options)
        self.sandboxes = SandboxPool(options.pop("sandbox", "process"), size=envs)
        self.sandboxes.warm()
        self.envs = [ToolUseEnv(loaded, split="all", sandbox=self.sandboxes.acquire(), **options) for _ in range(envs)]
        self.policies = [make_policy(policy, loaded, policy_options) for _ in range(envs)]

    def run(self, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        trajectories = run_lockstep(self.envs, self.policies, [EpisodeSpec.model_validate(s) for s in specs])
        return [t.model_dump(mode="json") for t in trajectories]

    def ping(self) -> bool:
        return True


class RolloutPool:
    def __init__(
        self,
        pack: str | Path,
        workers: int = 2,
        envs_per_worker: int = 4,
        policy: str = "oracle",
        policy_options: dict[str, Any] | None = None,
        env_options: dict[str, Any] | None = None,
        ray_address: str | None = None,
        retries: int = 2,
        chunk: int = 8,
    ) -> None:
        import ray

        self.ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            ray.init(address=ray_address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        self.actor_class = ray.remote(num_cpus=1, max_restarts=0)(RolloutWorker)
        self.arguments = (str(Path(pack).resolve()), envs_per_worker, policy, policy_options or {}, env_options or {"sandbox": "process"})
        self.retries = retries
        self.chunk = chunk
        self.actors = [self.actor_class.remote(*self.arguments) for _ in range(workers)]
        ray.get([actor.ping.remote() for actor in self.actors])
        self.replaced = 0

    def run(self, specs: list[EpisodeSpec], on_chunk: Callable[[int, int], None] | None = None) -> list[Trajectory]:
        """Every spec comes back once, in episode-id order: played, or failed with its error."""
        ray = self.ray
        chunks = [specs[i : i + self.chunk] for i in range(0, len(specs), self.chunk)]
        attempts: dict[int, int] = defaultdict(int)
        queue = list(range(len(chunks)))
        in_flight: dict[Any, tuple[int, int]] = {}
        results: dict[int, Trajectory] = {}
        idle = list(range(len(self.actors)))
        while queue or in_flight:
            while queue and idle:
                actor_index, chunk_index = idle.pop(0), queue.pop(0)
                payload = [s.model_dump() for s in chunks[chunk_index]]
                in_flight[self.actors[actor_index].run.remote(payload)] = (actor_index, chunk_index)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            actor_index, chunk_index = in_flight.pop(ready[0])
            try:
                for raw in ray.get(ready[0]):
                    trajectory = Trajectory.model_validate(raw)
                    results[trajectory.episode_id] = trajectory
            except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError, ray.exceptions.ActorUnavailableError) as exc:
                self.actors[actor_index] = self.actor_class.remote(*self.arguments)
                self.replaced += 1
                attempts[chunk_index] += 1
                if attempts[chunk_index] <= self.retries:
                    queue.insert(0, chunk_index)
                else:
                    for spec in chunks[chunk_index]:
                        results[spec.episode_id] = Trajectory(episode_id=spec.episode_id, task_id=spec.task_id, status="failed", error=str(exc)[:500])
            except ray.exceptions.RayTaskError as exc:
                for spec in chunks[chunk_index]:
                    results[spec.episode_id] = Trajectory(episode_id=spec.episode_id, task_id=spec.task_id, status="failed", error=str(exc)[:500])
            idle.append(actor_index)
            if on_chunk:
                on_chunk(len(results), len(specs))
        return [results[s.episode_id] for s in specs]

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        if self._started_here:
            self.ray.shutdown()


def episode_specs(task_ids: list[str], episodes: int, seed: int) -> list[EpisodeSpec]:
    """`episodes` episodes, each with its own seed: cycling over the tasks, or, when there are fewer
    episodes than tasks, tasks spread evenly over the split so that every structure and level shows."""
    count = len(task_ids)
    pick = (lambda i: i * count // episodes) if episodes < count else (lambda i: i % count)
    return [EpisodeSpec(episode_id=i, task_id=task_ids[pick(i)], seed=seed * 1_000_003 + i) for i in range(episodes)]


def solve_metrics(rows: list[Trajectory]) -> dict[str, float]:
    """Solve-P: useful calls / calls; Solve-R: sub-answers surfaced / required; Solve-F1: their harmonic mean.
    (With one sub-answer per call, as in the source method, these equal its definitions.)"""
    useful = sum(t.breakdown.get("useful_calls", 0) for t in rows)
    calls = sum(t.breakdown.get("calls", 0) for t in rows)
    found = sum(t.breakdown.get("sub_answers_found", 0) for t in rows)
    needed = sum(t.breakdown.get("sub_answers_total", 0) for t in rows)
    n = max(1, len(rows))
    precision = useful / calls if calls else 1.0
    recall = found / needed if needed else 1.0
    return {
        "episodes": len(rows),
        "mean_reward": round(sum(t.reward for t in rows) / n, 4),
        "success_rate": round(sum(t.reward >= 1.0 for t in rows) / n, 4),
        "solve_p": round(precision, 4),
        "solve_r": round(recall, 4),
        "solve_f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "mean_turns": round(sum(t.turns for t in rows) / n, 2),
        "mean_calls": round(calls / n, 2),
        "parse_errors": sum(t.parse_errors for t in rows),
    }


def summarize(trajectories: list[Trajectory]) -> dict[str, Any]:
    played = [t for t in trajectories if t.status == "ok"]
    by_structure: dict[str, list[Trajectory]] = defaultdict(list)
    by_level: dict[str, list[Trajectory]] = defaultdict(list)
    for t in played:
        by_structure[t.structure].append(t)
        by_level[str(t.level)].append(t)
    return {
        "overall": solve_metrics(played),
        "failed_episodes": [t.episode_id for t in trajectories if t.status == "failed"],
        "by_structure": {k: solve_metrics(v) for k, v in sorted(by_structure.items())},
        "by_level": {k: solve_metrics(v) for k, v in sorted(by_level.items())},
    }

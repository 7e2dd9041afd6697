"""RLlib: the structured env under `register_env` (RLlib's own registry, not Gymnasium's), a PPO config
with env runners on Ray, a slot-aware RLModule, and a greedy evaluation of a module on every task of a split.

The observation is made of slots (tools, values, answers) in a per-task order, so `SlotModule` scores
every slot of a kind with one shared network, as a pointer network does, instead of asking a flat MLP to
learn each slot position apart; value slots are scored against the argument fit of the tools weighted by
the tool head's own probabilities.

    from gym_tools.trainers.rllib import ppo_config
    algo = ppo_config("packs/level1", levels=[1], env_runners=2).build_algo()
    for _ in range(20):
        algo.train()
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from gym_tools.structured import ARGS_PER_CALL, ToolUseStructuredEnv

ENV_NAME = "envgen-structured"
SUMMARY = 2 * (4 + 6 + 4) + 1 + 3


def make_env(config: dict[str, Any]) -> ToolUseStructuredEnv:
    """RLlib hands env_config over as an EnvContext (a dict): its keys are the env's keyword arguments."""
    return ToolUseStructuredEnv(**dict(config))


def register(name: str = ENV_NAME) -> str:
    from ray.tune.registry import register_env

    register_env(name, make_env)
    return name


def slot_module_class() -> type:
    """Built on first use so that importing this module needs neither torch nor RLlib."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical
    from ray.rllib.core.rl_module.apis import ValueFunctionAPI
    from ray.rllib.core.rl_module.torch import TorchRLModule
    from torch import nn

    def mlp(inputs: int, hidden: int, outputs: int) -> nn.Module:
        return nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, outputs))

    class SlotModule(TorchRLModule, ValueFunctionAPI):
        def setup(self) -> None:
            nvec = [int(n) for n in self.action_space.nvec]
            self.tools, self.values, self.answers = nvec[1], nvec[2], nvec[-1]
            hidden = int(self.model_config.get("hidden", 64))
            size = self.observation_space.shape[0]
            self.context = mlp(size, hidden, hidden)
            self.mode_head = mlp(SUMMARY + hidden, hidden, 2)
            self.tool_head = mlp(4 + 2 * ARGS_PER_CALL + hidden, hidden, 1)
            self.value_head = mlp(6 + 3 + ARGS_PER_CALL + hidden, hidden, 1)
            self.answer_head = mlp(4 + hidden, hidden, 1)
            self.critic = mlp(SUMMARY, hidden, 1)
            self.action_dist_cls = TorchMultiCategorical.get_partial_dist_cls(space=self.action_space, input_lens=nvec)

        def split(self, obs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            t, v, a = self.tools, self.values, self.answers
            sizes = [4 * t, 6 * v, ARGS_PER_CALL * t * v, t * v, 4 * a, 3]
            tools, values, fit, used, answers, _ = torch.split(obs, sizes, dim=-1)
            batch = obs.shape[0]
            return (tools.view(batch, t, 4), values.view(batch, v, 6), fit.view(batch, t, ARGS_PER_CALL, v), used.view(batch, t, v), answers.view(batch, a, 4))

        @staticmethod
        def mention_match(candidates: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
            """(batch, position, value): the value is the candidate that the query mentions in this
            parameter's turn, counting earlier parameters with the same candidates ("from A to B")."""
            before = (order[:, None, :] < order[:, :, None]).float()
            rank = torch.einsum("bku,bvu->bkv", candidates, before)
            shared = (torch.einsum("bkv,bjv->bkj", candidates, candidates) > 0.5).float()
            earlier = torch.tril(torch.ones(ARGS_PER_CALL, ARGS_PER_CALL, device=candidates.device), diagonal=-1)
            turn = (shared * earlier).sum(-1)
            return ((rank - turn[..., None]).abs() < 0.5).float() * candidates

        def summary(self, obs: torch.Tensor, tools: torch.Tensor, values: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
            """Slot features pooled by mean and max, plus whether the query names a value that no call
            has used yet: what "is there more to call?" turns on, whatever the slot order."""
            pooled = [torch.cat([kind.mean(1), kind.amax(1)], dim=-1) for kind in (tools, values, answers)]
            pending = (values[..., 1] * (1 - values[..., 5])).amax(-1, keepdim=True)
            return torch.cat([*pooled, pending, obs[:, -3:]], dim=-1)

        def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            obs = batch[Columns.OBS].float()
            tools, values, fit, used, answers = self.split(obs)
            context = self.context(obs)
            summary = self.summary(obs, tools, values, answers)
            in_query = values[:, None, None, :, 1]
            fresh = (1 - used)[:, :, None, :]
            tool_features = torch.cat([tools, (fit * in_query).amax(-1), (fit * in_query * fresh).amax(-1)], dim=-1)
            tool_logits = self.tool_head(torch.cat([tool_features, context[:, None].expand(-1, self.tools, -1)], dim=-1)).squeeze(-1)
            tool_logits = tool_logits.masked_fill(tools[..., 0] == 0, -1e4)
            weights = torch.softmax(tool_logits, dim=-1)
            expected_fit = torch.einsum("bt,btkv->bkv", weights, fit)
            expected_used = torch.einsum("bt,btv->bv", weights, used)
            in_order = self.mention_match(expected_fit * values[:, None, :, 1], values[..., 2])
            value_logits = []
            for k in range(ARGS_PER_CALL):
                position = torch.zeros(obs.shape[0], self.values, ARGS_PER_CALL, device=obs.device)
                position[..., k] = 1
                slot = [values, expected_fit[:, k, :, None], expected_used[..., None], in_order[:, k, :, None], position]
                features = torch.cat([*slot, context[:, None].expand(-1, self.values, -1)], dim=-1)
                value_logits.append(self.value_head(features).squeeze(-1))
            answer_logits = self.answer_head(torch.cat([answers, context[:, None].expand(-1, self.answers, -1)], dim=-1)).squeeze(-1)
            mode_logits = self.mode_head(torch.cat([summary, context], dim=-1))
            logits = torch.cat([mode_logits, tool_logits, *value_logits, answer_logits], dim=-1)
            return {Columns.ACTION_DIST_INPUTS: logits}

        def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
            obs = batch[Columns.OBS].float()
            tools, values, _, _, answers = self.split(obs)
            return self.critic(self.summary(obs, tools, values, answers)).squeeze(-1)

    return SlotModule


def ppo_config(
    pack: str | Path,
    *,
    levels: list[int] | None = None,
    structures: list[str] | None = None,
    env_runners: int = 2,
    envs_per_runner: int = 4,
    env_options: dict[str, Any] | None = None,
    seed: int = 0,
) -> Any:
    """A PPO config on the new API stack, tuned for the short episodes of tool-use tasks."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env_config = {"pack": str(pack), "levels": levels, "structures": structures, "sandbox": "process", **(env_options or {})}
    return (
        PPOConfig()
        .environment(register(), env_config=env_config)
        .env_runners(num_env_runners=env_runners, num_envs_per_env_runner=envs_per_runner, rollout_fragment_length="auto")
        .training(lr=3e-4, gamma=0.99, lambda_=0.95, train_batch_size_per_learner=2000, minibatch_size=250, num_epochs=6, entropy_coeff=0.01, grad_clip=0.5)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=slot_module_class(), model_config={"hidden": 64}))
        .debugging(seed=seed)
    )


def greedy_success(module: Any, env: ToolUseStructuredEnv) -> dict[str, float]:
    """Success rate per structure when the module plays every task of `env` once, greedily."""
    import torch

    dist_class = module.get_inference_action_dist_cls()
    solved: Counter[str] = Counter()
    played: Counter[str] = Counter()
    for task in env.tasks:
        obs, _ = env.reset(options={"task_id": task.id})
        done, info = False, {}
        while not done:
            with torch.no_grad():
                out = module.forward_inference({"obs": torch.as_tensor(obs[None])})
            action = dist_class.from_logits(out["action_dist_inputs"]).to_deterministic().sample()[0].numpy()
            obs, _, terminated, truncated, info = env.step(np.asarray(action))
            done = terminated or truncated
        played[task.structure] += 1
        solved[task.structure] += int(info.get("success", False))
    return {structure: solved[structure] / played[structure] for structure in sorted(played)}


def train_until(algo: Any, evaluation: ToolUseStructuredEnv, target: float, max_iterations: int, every: int = 5) -> list[dict[str, Any]]:
    """Train until every structure's greedy success on `evaluation` reaches `target` (checked every
    `every` iterations) or `max_iterations` pass; returns the evaluations, the untrained one first."""
    history = [{"iteration": 0, "success": greedy_success(algo.get_module(), evaluation)}]
    for iteration in range(1, max_iterations + 1):
        result = algo.train()
        if iteration % every and iteration != max_iterations:
            continue
        success = greedy_success(algo.get_module(), evaluation)
        steps = result.get("env_runners", {}).get("num_env_steps_sampled_lifetime")
        history.append({"iteration": iteration, "env_steps": steps, "success": success})
        if min(success.values()) >= target:
            break
    return history

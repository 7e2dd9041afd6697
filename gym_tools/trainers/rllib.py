"""RLlib: the structured env under `register_env` (RLlib's own registry, not Gymnasium's), a PPO config
with env runners on Ray, and a greedy evaluation of the trained module on every task of a split.

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

from gym_tools.structured import ToolUseStructuredEnv

ENV_NAME = "envgen-structured"


def make_env(config: dict[str, Any]) -> ToolUseStructuredEnv:
    """RLlib hands env_config over as an EnvContext (a dict): its keys are the env's keyword arguments."""
    return ToolUseStructuredEnv(**dict(config))


def register(name: str = ENV_NAME) -> str:
    from ray.tune.registry import register_env

    register_env(name, make_env)
    return name


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

    env_config = {"pack": str(pack), "levels": levels, "structures": structures, "sandbox": "process", **(env_options or {})}
    return (
        PPOConfig()
        .environment(register(), env_config=env_config)
        .env_runners(num_env_runners=env_runners, num_envs_per_env_runner=envs_per_runner, rollout_fragment_length="auto")
        .training(lr=5e-4, gamma=0.99, train_batch_size_per_learner=2000, minibatch_size=250, num_epochs=8, entropy_coeff=0.01)
        .rl_module(model_config={"fcnet_hiddens": [256, 256]})
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

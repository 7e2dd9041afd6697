"""Stable-Baselines3 (optional extra `envgen[sb3]`): the structured env trains with SB3's PPO as it is.

    from gym_tools.trainers.sb3 import train_ppo
    model = train_ppo("packs/level1", levels=[1], timesteps=50_000)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gym_tools.structured import ToolUseStructuredEnv


def train_ppo(pack: str | Path, timesteps: int, levels: list[int] | None = None, seed: int = 0, **env_options: Any) -> Any:
    """SB3 PPO with its default MLP policy on a vectorized structured env (4 copies)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    def make() -> ToolUseStructuredEnv:
        return ToolUseStructuredEnv(pack, levels=levels, **{"sandbox": "process", "reward_mode": "step", **env_options})

    model = PPO("MlpPolicy", make_vec_env(make, n_envs=4, seed=seed), n_steps=256, batch_size=256, seed=seed, verbose=0)
    return model.learn(total_timesteps=timesteps)

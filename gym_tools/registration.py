"""Gymnasium registration; also reached through the `gymnasium.envs` entry point."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_IDS = {
    "gym_tools/ToolUse-v0": "gym_tools.env:ToolUseEnv",
    "gym_tools/ToolUseStructured-v0": "gym_tools.structured:ToolUseStructuredEnv",
}


def register_envs() -> None:
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point)

"""Gymnasium environments over envgen packs, tool-call parsing and the verifiable reward."""

from gym_tools.registration import register_envs

register_envs()

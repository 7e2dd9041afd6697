"""Adapters for external trainers: RLlib, Stable-Baselines3, TRL, verl, and plain file export."""

"""RLlib PPO on a level-1 envgen pack, env runners on Ray, CPU only.

    python examples/rllib_ppo.py --out runs/rllib

Builds a pack of level-1 single and parallel tasks, trains PPO with the slot-aware module on its train
split, and prints the greedy success rate on the held-out test split before and during training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

LEVEL1 = {"name": "level1", "seed": 11, "tasks": {"single": {1: 150}, "parallel": {1: 150}}, "sandbox": {"backend": "process"}}
ENV_OPTIONS = {"max_tools": 4, "max_values": 10, "max_answers": 6, "reward_mode": "shaped"}


def build_level1_pack(out: Path) -> Path:
    from envgen.config import BuildConfig
    from envgen.pack import write_pack
    from envgen.pipeline import build, pack_readme

    config = BuildConfig.model_validate(LEVEL1)
    pack, fields = build(config)
    write_pack(out, pack, fields, pack_readme(config, fields["counts"]))
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, help="A pack with level-1 tasks (default: build one under --out).")
    parser.add_argument("--out", type=Path, default=Path("runs/rllib"))
    parser.add_argument("--iterations", type=int, default=160)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--env-runners", type=int, default=1)
    args = parser.parse_args(argv)

    import ray

    from gym_tools.structured import ToolUseStructuredEnv
    from gym_tools.trainers.rllib import ppo_config, train_until

    pack = args.pack or build_level1_pack(args.out / "pack")
    ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    algo = ppo_config(pack, levels=[1], structures=["single", "parallel"], env_runners=args.env_runners, envs_per_runner=8, env_options=ENV_OPTIONS).build_algo()
    held_out = ToolUseStructuredEnv(pack, split="test", levels=[1], structures=["single", "parallel"], sandbox="process", **ENV_OPTIONS)
    try:
        history = train_until(algo, held_out, args.target, args.iterations)
    finally:
        held_out.close()
        algo.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "history.json").write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
    for entry in history:
        print(json.dumps(entry))
    return history


if __name__ == "__main__":
    main()

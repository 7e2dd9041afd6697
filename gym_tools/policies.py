"""Rollout policies over the text environment: `oracle` plays the golden solution, `random` makes
well-formed random calls, `hf` runs a local Hugging Face causal LM, `openai` asks any OpenAI-compatible
chat endpoint.

A policy sees what a trainer's model sees (the observation) and answers with an action; `begin` is
told the task so the oracle can look up its golden solution."""

from __future__ import annotations

import json
import os
import random
from typing import Any, Protocol

from envgen.models import Task, ToolCall
from envgen.pack import PackData
from envgen.stages.deploy import answer_text, golden_turns
from gym_tools.formats import plain_chat, render_calls


class Policy(Protocol):
    name: str

    def begin(self, task: Task, seed: int) -> None: ...

    def act(self, observation: str) -> Any: ...


def golden_actions(task: Task, tool_format: str) -> list[Any]:
    """The golden solution as the turns a model would write: call turns, then the answer."""
    return [render_calls(turn, tool_format) for turn in golden_turns(task) if turn] + [answer_text(task.answer)]


class OraclePolicy:
    name = "oracle"

    def __init__(self, pack: PackData, tool_format: str = "hermes") -> None:
        self.tool_format = tool_format
        self.queue: list[Any] = []

    def begin(self, task: Task, seed: int) -> None:
        self.queue = golden_actions(task, self.tool_format)

    def act(self, observation: str) -> Any:
        return self.queue.pop(0) if self.queue else "<answer></answer>"


class RandomPolicy:
    """Well-formed calls of offered tools with plausible random arguments, then a random answer."""

    name = "random"

    def __init__(self, pack: PackData, tool_format: str = "hermes") -> None:
        self.pack = pack
        self.tool_format = tool_format
        self.rng = random.Random(0)
        self.task: Task | None = None

    def begin(self, task: Task, seed: int) -> None:
        self.rng = random.Random(seed)
        self.task = task

    def value(self, schema: dict[str, Any]) -> Any:
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind in ("number", "integer"):
            return self.rng.randint(1, 100)
        if kind == "array":
            return [self.rng.randint(1, 100) for _ in range(self.rng.randint(1, 3))]
        if kind == "object":
            return {name: self.value(sub) for name, sub in schema.get("properties", {}).items() if name in schema.get("required", [])}
        return self.rng.choice(self.pack.vocabulary_names)

    def act(self, observation: str) -> Any:
        assert self.task is not None
        if self.rng.random() < 0.3 or not self.task.tools:
            return f"<answer>{self.rng.choice(self.pack.vocabulary_names)}</answer>"
        calls = []
        for _ in range(self.rng.randint(1, 2)):
            schema = self.pack.schemas[self.rng.choice(self.task.tools)].function
            properties = schema.parameters["properties"]
            calls.append(ToolCall(name=schema.name, arguments={p: self.value(properties[p]) for p in schema.parameters["required"]}))
        return render_calls(calls, self.tool_format)


class OpenAIPolicy:
    """Any OpenAI-compatible chat endpoint; the key comes from an environment variable."""

    name = "openai"

    def __init__(self, pack: PackData, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", temperature: float = 0.0) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env, "none"))
        self.model = model
        self.temperature = temperature

    def begin(self, task: Task, seed: int) -> None:
        self.seed = seed

    def act(self, observation: str) -> Any:
        payload = json.loads(observation)
        response = self.client.chat.completions.create(
            model=self.model, messages=payload["messages"], tools=payload["tools"], temperature=self.temperature, seed=self.seed
        )
        message = response.choices[0].message
        return message.model_dump(exclude_none=True)


class HFPolicy:
    """A local causal LM (SmolLM2-135M-Instruct by default) prompted through its own chat template; its
    raw text is the action, so the env's parser judges what the model really wrote."""

    name = "hf"

    def __init__(self, pack: PackData, model: str = "smollm2", tool_format: str = "hermes", max_new_tokens: int = 160, temperature: float = 0.0) -> None:
        from gym_tools.hf import load_causal_lm

        self.lm, self.tokenizer = load_causal_lm(model)
        self.tool_format = tool_format
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = 0

    def begin(self, task: Task, seed: int) -> None:
        self.seed = seed

    def act(self, observation: str) -> Any:
        from gym_tools.hf import generate_reply

        chat = plain_chat(json.loads(observation)["messages"], self.tool_format)
        text, _, _ = generate_reply(self.lm, self.tokenizer, chat, self.max_new_tokens, self.temperature, self.seed + len(chat))
        return text


def make_policy(name: str, pack: PackData, options: dict[str, Any] | None = None) -> Policy:
    options = options or {}
    if name == "oracle":
        return OraclePolicy(pack, **options)
    if name == "random":
        return RandomPolicy(pack, **options)
    if name == "openai":
        return OpenAIPolicy(pack, **options)
    if name == "hf":
        return HFPolicy(pack, **options)
    raise ValueError(f"unknown policy {name!r}; choose oracle, random, hf or openai")

"""A pack as training rows, for any trainer: one row per (task, step), where the prompt holds the golden
turns before that step with their real tool results and `completion` is the golden next turn.

Step 0 rows are the episode-level prompts (system + query); later steps are the golden-trajectory
prefixes that the source method trains on. Prompts are role/content messages only, with calls written in
`tool_format` and tool results as `<tool_response>` user turns, so any chat template renders them; the
schemas are in the system message and, for tool-aware templates, in `tools`. The schema is `StepRow`
(docs/export.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from envgen.pack import PackData
from gym_tools.env import ToolUseEnv, cached_pack
from gym_tools.formats import plain_chat
from gym_tools.policies import golden_actions

SUFFIXES = (".jsonl", ".parquet")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class StepRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: str
    split: str
    structure: str
    level: int
    step: int
    steps: int
    prompt: list[ChatMessage]
    completion: str
    tools: str
    tool_format: str


def step_rows(
    pack: str | Path | PackData, split: str = "train", tool_format: str = "hermes", sandbox: str = "process", prefixes: bool = True
) -> list[StepRow]:
    """Rows for every task of `split`; `prefixes=False` keeps only the step 0 (episode) rows."""
    data = pack if isinstance(pack, PackData) else cached_pack(pack)
    env = ToolUseEnv(data, split="all", tool_format=tool_format, sandbox=sandbox)
    rows: list[StepRow] = []
    try:
        for task in data.split(split):
            env.reset(options={"task_id": task.id})
            actions = golden_actions(task, tool_format)
            tools = json.dumps([schema.model_dump(mode="json") for schema in data.schemas_for(task)])
            for step, action in enumerate(actions if prefixes else actions[:1]):
                completion = action if isinstance(action, str) else json.dumps(action)
                prompt = [ChatMessage(**m) for m in plain_chat(env.messages, tool_format)]
                rows.append(StepRow(task_id=task.id, split=task.split, structure=task.structure, level=task.level, step=step,
                                    steps=len(actions), prompt=prompt, completion=completion, tools=tools, tool_format=tool_format))
                if step < len(actions) - 1:
                    env.step(action)
    finally:
        env.close()
    return rows


def write_rows(rows: list[BaseModel], path: Path) -> Path:
    """JSONL or Parquet by suffix, written whole or not at all."""
    if path.suffix not in SUFFIXES:
        raise ValueError(f"{path}: the export file must end in one of {SUFFIXES}")
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [row.model_dump(mode="json") for row in rows]
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if path.suffix == ".jsonl":
            Path(temporary).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(records), temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()

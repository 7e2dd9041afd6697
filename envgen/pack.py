"""The environment pack on disk: written atomically and reproducibly, loaded with full validation.

Layout: manifest.json, tools/schemas.json, tools/<domain>.py, world/initial.json,
tasks/<split>.jsonl, report.json, README.md.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from envgen.models import FORMAT_VERSION, Manifest, Task, ToolSchema
from envgen.world import TYPES
from gym_tools.answers import Vocabulary
from sandbox.jsonutil import dumps

MANIFEST = "manifest.json"
SCHEMAS = "tools/schemas.json"
WORLD = "world/initial.json"
REPORT = "report.json"


class PackError(ValueError):
    """A pack is wrong; the message names the file, the task and the field."""


@dataclass
class PackData:
    schemas: dict[str, ToolSchema]
    modules: dict[str, str]
    world: dict[str, Any]
    tasks: list[Task]
    manifest: Manifest | None = None
    report: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @functools.cached_property
    def vocabulary_names(self) -> list[str]:
        """Entity names and category values: what a final answer's candidates are read against."""
        names = {name for table, rows in self.world.items() if table in TYPES and TYPES[table].name_style for name in rows}
        names |= {choice for entity in TYPES.values() for f in entity.fields for choice in f.choices}
        return sorted(names)

    @functools.cached_property
    def name_nouns(self) -> dict[str, str]:
        """What kind of thing each entity name is ("hotel", "city"): what a reader of the query knows."""
        return {name: TYPES[table].noun for table, rows in self.world.items() if table in TYPES and TYPES[table].name_style for name in rows}

    @functools.cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self.vocabulary_names)

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(f"no task {task_id!r} in the pack")

    def split(self, name: str | None) -> list[Task]:
        return [t for t in self.tasks if name in (None, "all") or t.split == name]

    def schemas_for(self, task: Task) -> list[ToolSchema]:
        return [self.schemas[name] for name in task.tools]


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def pack_files(pack: PackData, readme: str) -> dict[str, str]:
    files = {
        SCHEMAS: json_text([s.model_dump(mode="json") for _, s in sorted(pack.schemas.items())]),
        WORLD: json_text(pack.world),
        REPORT: json_text(pack.report),
        "README.md": readme,
    }
    for domain, source in sorted(pack.modules.items()):
        files[f"tools/{domain}.py"] = source
    for split in sorted({t.split for t in pack.tasks}):
        lines = [dumps(t.model_dump(mode="json")) for t in pack.tasks if t.split == split]
        files[f"tasks/{split}.jsonl"] = "\n".join(lines) + "\n"
    return files


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_pack(out: Path, pack: PackData, manifest_fields: dict[str, Any], readme: str) -> Manifest:
    """Everything goes to a temporary sibling folder first, then one rename: no half-written pack."""
    out = Path(out)
    files = pack_files(pack, readme)
    manifest = Manifest(files={name: sha256(text) for name, text in sorted(files.items())}, **manifest_fields)
    files[MANIFEST] = json_text(manifest.model_dump(mode="json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, text in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, retired / "pack")
            os.rename(staging, out)
            shutil.rmtree(retired)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def read_json(path: Path, name: str) -> Any:
    try:
        return json.loads((path / name).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PackError(f"{path}: missing {name}") from exc
    except ValueError as exc:
        raise PackError(f"{path / name}: not valid JSON: {exc}") from exc


def describe(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors())


def load_pack(path: str | Path) -> PackData:
    path = Path(path)
    if not path.is_dir():
        raise PackError(f"{path}: not a pack folder")
    try:
        manifest = Manifest.model_validate(read_json(path, MANIFEST))
    except ValidationError as exc:
        raise PackError(f"{path / MANIFEST}: {describe(exc)}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise PackError(f"{path / MANIFEST}: format_version {manifest.format_version} is not {FORMAT_VERSION}")
    texts: dict[str, str] = {}
    for name, checksum in manifest.files.items():
        try:
            texts[name] = (path / name).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise PackError(f"{path / name}: listed in the manifest but missing") from exc
        if sha256(texts[name]) != checksum:
            raise PackError(f"{path / name}: checksum does not match the manifest (file changed or damaged)")
    schemas: dict[str, ToolSchema] = {}
    for position, raw in enumerate(json.loads(texts[SCHEMAS])):
        try:
            schema = ToolSchema.model_validate(raw)
        except ValidationError as exc:
            raise PackError(f"{path / SCHEMAS}: tool #{position}: {describe(exc)}") from exc
        schemas[schema.name] = schema
    modules: dict[str, str] = {}
    for name, text in texts.items():
        if name.startswith("tools/") and name.endswith(".py"):
            try:
                ast.parse(text)
            except SyntaxError as exc:
                raise PackError(f"{path / name}: line {exc.lineno}: {exc.msg}") from exc
            modules[Path(name).stem] = text
    tasks = [task for name in sorted(texts) if name.startswith("tasks/") for task in parse_tasks(path / name, texts[name], schemas)]
    return PackData(
        schemas=schemas, modules=modules, world=json.loads(texts[WORLD]), tasks=tasks, manifest=manifest, report=json.loads(texts[REPORT]), path=path
    )


def parse_tasks(file: Path, text: str, schemas: dict[str, ToolSchema]) -> list[Task]:
    tasks: list[Task] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise PackError(f"{file}:{number}: not valid JSON: {exc}") from exc
        label = raw.get("id", f"line {number}") if isinstance(raw, dict) else f"line {number}"
        try:
            task = Task.model_validate(raw)
        except ValidationError as exc:
            raise PackError(f"{file}:{number}: task {label}: {describe(exc)}") from exc
        missing = [t for t in task.tools if t not in schemas]
        if missing:
            raise PackError(f"{file}:{number}: task {task.id}: tools: {missing} have no schema")
        for position, call in enumerate(task.golden_calls):
            if call.name not in task.tools:
                raise PackError(f"{file}:{number}: task {task.id}: golden call #{position} uses {call.name!r}, which the task does not offer")
        tasks.append(task)
    return tasks

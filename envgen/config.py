"""The build config: YAML validated by pydantic; unknown keys and bad values name the key and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from envgen.models import STRUCTURES
from envgen.world import DOMAINS
from sandbox import Limits

LEVELS = (1, 2, 3, 4)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorldConfig(Strict):
    scale: float = Field(1.0, gt=0, le=20, description="Multiplies the entity counts of every table.")


class SplitConfig(Strict):
    test_fraction: float = Field(0.2, ge=0, le=1)


class SandboxConfig(Strict):
    backend: str = Field("process", description="inprocess, process, bwrap, docker or auto.")
    limits: Limits = Field(default_factory=Limits)


class BuildConfig(Strict):
    name: str = "pack"
    seed: int = 0
    domains: list[str] = Field(default_factory=lambda: list(DOMAINS))
    tasks: dict[str, dict[int, int]] = Field(description="Task count per structure and level.")
    world: WorldConfig = Field(default_factory=WorldConfig)
    splits: SplitConfig = Field(default_factory=SplitConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    chunk_size: int = Field(250, ge=1)

    @field_validator("domains")
    @classmethod
    def _known_domains(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(DOMAINS))
        if unknown:
            raise ValueError(f"unknown domains {unknown}; known: {list(DOMAINS)}")
        if len(set(value)) < 2:
            raise ValueError("at least two domains are needed")
        return sorted(set(value), key=DOMAINS.index)

    @field_validator("tasks")
    @classmethod
    def _known_structures(cls, value: dict[str, dict[int, int]]) -> dict[str, dict[int, int]]:
        for structure, levels in value.items():
            if structure not in STRUCTURES:
                raise ValueError(f"unknown structure {structure!r}; known: {list(STRUCTURES)}")
            for level, count in levels.items():
                if level not in LEVELS:
                    raise ValueError(f"{structure}: level {level} is not one of {list(LEVELS)}")
                if count < 0:
                    raise ValueError(f"{structure}: level {level} count must be >= 0")
        return value

    @model_validator(mode="after")
    def _some_tasks(self) -> BuildConfig:
        if self.total_tasks == 0:
            raise ValueError("tasks: at least one task must be requested")
        return self

    @property
    def total_tasks(self) -> int:
        return sum(sum(levels.values()) for levels in self.tasks.values())

    def plan(self) -> list[tuple[str, int]]:
        """(structure, level) per task index, in a fixed order."""
        return [(s, level) for s in STRUCTURES for level in LEVELS for _ in range(self.tasks.get(s, {}).get(level, 0))]


class ConfigError(ValueError):
    pass


def describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def load_config(path: str | Path) -> BuildConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        return BuildConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc, str(path))) from exc

"""Shared fixtures: a small pack is built once per session, since building is the slow part."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.config import BuildConfig
from envgen.models import STRUCTURES
from envgen.pack import PackData, load_pack, write_pack
from envgen.pipeline import build, pack_readme
from sandbox import backend_available


def require_backend(name: str) -> None:
    if not backend_available(name):
        pytest.skip(f"sandbox backend {name} is not available on this machine")


def small_config(**overrides: object) -> BuildConfig:
    raw = {"name": "small", "seed": 3, "tasks": {s: {1: 3, 2: 3, 3: 3, 4: 3} for s in STRUCTURES}, "chunk_size": 40}
    raw.update(overrides)
    return BuildConfig.model_validate(raw)


def build_into(config: BuildConfig, out: Path) -> Path:
    pack, manifest_fields = build(config)
    write_pack(out, pack, manifest_fields, pack_readme(config, manifest_fields["counts"]))
    return out


@pytest.fixture(scope="session")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_into(small_config(), tmp_path_factory.mktemp("packs") / "small")


@pytest.fixture(scope="session")
def pack(pack_dir: Path) -> PackData:
    return load_pack(pack_dir)

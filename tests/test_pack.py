"""The pack: reproducible bytes, atomic writes, and loading that names what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from envgen.models import STRUCTURES
from envgen.pack import PackError, load_pack, sha256
from tests.conftest import build_into, small_config


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pack_covers_every_structure_and_level(pack) -> None:
    assert {t.structure for t in pack.tasks} == set(STRUCTURES)
    assert {t.level for t in pack.tasks} == {1, 2, 3, 4}
    assert len({d for t in pack.tasks for d in t.domains}) >= 6
    assert pack.manifest.counts["tasks"] == len(pack.tasks)


def test_same_config_and_seed_give_identical_bytes(pack_dir: Path, tmp_path: Path) -> None:
    again = build_into(small_config(), tmp_path / "again")
    assert tree_bytes(again) == tree_bytes(pack_dir)


def test_chunking_does_not_change_the_pack(pack_dir: Path, tmp_path: Path) -> None:
    other = build_into(small_config(chunk_size=7), tmp_path / "chunked")
    assert tree_bytes(other) == tree_bytes(pack_dir)


def test_another_seed_gives_another_pack(pack_dir: Path, tmp_path: Path) -> None:
    other = build_into(small_config(seed=4), tmp_path / "other")
    assert tree_bytes(other)["tasks/train.jsonl"] != tree_bytes(pack_dir)["tasks/train.jsonl"]


@pytest.mark.slow
def test_ray_executor_gives_the_same_bytes(pack_dir: Path, tmp_path: Path) -> None:
    other = build_into(small_config(executor="ray", chunk_size=30), tmp_path / "ray")
    assert tree_bytes(other) == tree_bytes(pack_dir)


def test_rewrite_replaces_atomically(pack_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "pack"
    shutil.copytree(pack_dir, target)
    build_into(small_config(), target)
    assert tree_bytes(target) == tree_bytes(pack_dir)
    assert [p.name for p in tmp_path.iterdir()] == ["pack"], "no staging folders left behind"


@pytest.fixture
def copy(pack_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pack_dir, tmp_path / "copy"))


def reseal(pack: Path, name: str) -> None:
    """Edit a file and fix its checksum, so the loader's deeper checks are reached."""
    manifest = json.loads((pack / "manifest.json").read_text())
    manifest["files"][name] = sha256((pack / name).read_text())
    (pack / "manifest.json").write_text(json.dumps(manifest))


def test_checksum_mismatch_names_the_file(copy: Path) -> None:
    with (copy / "world/initial.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(PackError, match=r"world/initial.json: checksum does not match"):
        load_pack(copy)


def test_missing_file_is_named(copy: Path) -> None:
    (copy / "tools/schemas.json").unlink()
    with pytest.raises(PackError, match=r"tools/schemas.json: listed in the manifest but missing"):
        load_pack(copy)


def test_bad_task_field_names_file_line_task_and_field(copy: Path) -> None:
    path = copy / "tasks/train.jsonl"
    lines = path.read_text().splitlines()
    task = json.loads(lines[1])
    task["level"] = 9
    lines[1] = json.dumps(task)
    path.write_text("\n".join(lines) + "\n")
    reseal(copy, "tasks/train.jsonl")
    with pytest.raises(PackError) as raised:
        load_pack(copy)
    message = str(raised.value)
    assert "tasks/train.jsonl:2" in message and task["id"] in message and "level" in message


def test_unknown_tool_in_a_task_is_named(copy: Path) -> None:
    path = copy / "tasks/train.jsonl"
    lines = path.read_text().splitlines()
    task = json.loads(lines[0])
    task["tools"].append("no_such_tool")
    lines[0] = json.dumps(task)
    path.write_text("\n".join(lines) + "\n")
    reseal(copy, "tasks/train.jsonl")
    with pytest.raises(PackError, match=r"tools: \['no_such_tool'\] have no schema"):
        load_pack(copy)


def test_broken_tool_module_is_named(copy: Path) -> None:
    (copy / "tools/geography.py").write_text("def broken(:\n")
    reseal(copy, "tools/geography.py")
    with pytest.raises(PackError, match=r"tools/geography.py: line 1"):
        load_pack(copy)


def test_not_a_pack(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="missing manifest.json"):
        load_pack(tmp_path)

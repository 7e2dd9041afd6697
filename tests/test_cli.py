"""The CLI, run as users run it (typer's runner over the real commands)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from envgen.cli import app

runner = CliRunner()


def test_build_inspect_check(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("seed: 2\ntasks: {single: {1: 4, 3: 2}, multi_hop: {2: 3}, state_changing: {1: 2}, no_tool: {1: 1}}\n")
    out = tmp_path / "pack"
    built = runner.invoke(app, ["build", str(config), "--out", str(out)])
    assert built.exit_code == 0, built.output
    assert "Tasks by structure and level" in built.output and "wrote" in built.output
    summary = runner.invoke(app, ["inspect", str(out)])
    assert summary.exit_code == 0 and "task ids" in summary.output
    task_id = summary.output.split("task ids, e.g.: ")[1].split(",")[0].strip()
    shown = runner.invoke(app, ["inspect", str(out), task_id])
    assert shown.exit_code == 0 and "query:" in shown.output and "surfaces:" in shown.output
    checked = runner.invoke(app, ["check", str(out), "--sandbox", "process"])
    assert checked.exit_code == 0, checked.output
    assert "(100.0%)" in checked.output


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("tasks: {single: {1: 1}}\nbogus: 1\n")
    result = runner.invoke(app, ["build", str(config), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "bogus" in result.output


def test_check_fails_on_a_broken_pack(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "manifest.json" in result.output


def test_unknown_task_is_an_error(pack_dir: Path) -> None:
    result = runner.invoke(app, ["inspect", str(pack_dir), "nope-L1-00000"])
    assert result.exit_code == 2 and "no task" in result.output

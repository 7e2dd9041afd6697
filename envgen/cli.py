"""The `envgen` command line: build, inspect, check, and the sandbox image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from envgen.config import ConfigError, load_config
from envgen.pack import PackData, PackError, load_pack, write_pack

app = typer.Typer(help="Generate tool-use RL environment packs, check them, and manage the sandbox.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The tool sandbox.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
console = Console()


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def open_pack(path: Path) -> PackData:
    """A pack, or a CLI error that names the file and field that are wrong."""
    try:
        return load_pack(path)
    except PackError as exc:
        raise fail(str(exc)) from exc


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False)


@app.command()
def build(
    config_path: Path = typer.Argument(..., metavar="CONFIG", help="YAML build config."),
    out: Path = typer.Option(..., "--out", help="Folder to write the pack to (replaced atomically)."),
    executor: Optional[str] = typer.Option(None, help="local or ray; overrides the config."),
    ray_address: Optional[str] = typer.Option(None, help="Join an existing Ray cluster."),
    seed: Optional[int] = typer.Option(None, help="Overrides the config's seed."),
) -> None:
    """Build an environment pack through the five stages, validating every task in the sandbox."""
    from envgen.pipeline import build as run_build
    from envgen.pipeline import pack_readme

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    overrides = {k: v for k, v in {"executor": executor, "ray_address": ray_address, "seed": seed}.items() if v is not None}
    if overrides:
        config = config.model_validate({**config.model_dump(), **overrides})
    bars: dict[str, TaskID] = {}
    with progress_bar() as progress:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done, total=total)

        pack, manifest_fields = run_build(config, report)
    if not pack.tasks:
        raise fail("no task survived validation; see the dropped reasons above")
    write_pack(out, pack, manifest_fields, pack_readme(config, manifest_fields["counts"]))
    show_summary(manifest_fields["counts"], pack.report.get("dropped", []))
    console.print(f"[green]wrote[/] {out} ({len(pack.tasks)} tasks)")


def show_summary(counts: dict[str, object], dropped: list[dict[str, object]]) -> None:
    table = Table(title="Tasks by structure and level")
    levels = sorted({level for row in counts["by_structure_level"].values() for level in row})  # type: ignore[union-attr]
    table.add_column("structure")
    for level in levels:
        table.add_column(f"L{level}", justify="right")
    for structure, row in counts["by_structure_level"].items():  # type: ignore[union-attr]
        table.add_row(structure, *[str(row.get(level, 0)) for level in levels])
    console.print(table)
    domains = Table(title="Tasks by domain")
    domains.add_column("domain")
    domains.add_column("tasks", justify="right")
    for domain, n in counts["by_domain"].items():  # type: ignore[union-attr]
        domains.add_row(domain, str(n))
    console.print(domains)
    console.print(f"tools: {counts['tools']}   splits: {counts['by_split']}   dropped: {counts['dropped']}")
    if dropped:
        reasons = Table(title="Dropped tasks by reason")
        reasons.add_column("reason")
        reasons.add_column("tasks", justify="right")
        for reason, n in counts["dropped_by_reason"].items():  # type: ignore[union-attr]
            reasons.add_row(reason, str(n))
        console.print(reasons)


@app.command()
def inspect(pack_path: Path = typer.Argument(..., metavar="PACK"), task_id: Optional[str] = typer.Argument(None, metavar="TASK_ID")) -> None:
    """Show a pack's summary, or one task with its tools and golden solution."""
    pack = open_pack(pack_path)
    if task_id is None:
        assert pack.manifest is not None
        show_summary(pack.manifest.counts, pack.report.get("dropped", []))
        console.print("task ids, e.g.: " + ", ".join(t.id for t in pack.tasks[:5]))
        return
    try:
        task = pack.task(task_id)
    except KeyError as exc:
        raise fail(str(exc)) from exc
    console.rule(f"{task.id}  ({task.structure}, level {task.level}, {task.split}, domains {', '.join(task.domains)})")
    console.print(f"[bold]query:[/] {task.query}")
    console.print(f"[bold]answer:[/] {task.answer.value!r} ({task.answer.type})")
    tools = Table(title="offered tools")
    tools.add_column("name")
    tools.add_column("parameters")
    tools.add_column("description")
    golden_names = {c.name for c in task.golden_calls}
    for schema in pack.schemas_for(task):
        params = schema.function.parameters
        rendered = ", ".join(f"{n}{'' if n in params['required'] else '?'}: {p.get('type')}" for n, p in params["properties"].items())
        tools.add_row(("[green]" if schema.name in golden_names else "") + schema.name, rendered, schema.function.description)
    console.print(tools)
    for step in task.steps:
        console.print(f"[bold]{step.id}[/] {step.question}" + (f"  (after {', '.join(step.depends_on)})" if step.depends_on else ""))
        for call in step.calls:
            console.print(f"    {call.name}({json.dumps(call.arguments, ensure_ascii=False)})")
        console.print(f"    surfaces: {[s.value for s in step.sub_answers]}")
    if task.expected_state:
        console.print(f"[bold]expected state changes:[/] {[c.model_dump() for c in task.expected_state.changes]}")


@app.command()
def check(
    pack_path: Path = typer.Argument(..., metavar="PACK"),
    sandbox: str = typer.Option("auto", help="Sandbox backend for the replays."),
) -> None:
    """Run the verifiable-reward unit checks; exits non-zero on any failure."""
    from envgen.checks import check_pack

    pack = open_pack(pack_path)
    with progress_bar() as progress:
        bar = progress.add_task("golden and corrupted replays through env.step", total=len(pack.tasks))
        report = check_pack(pack, sandbox=sandbox, progress=lambda done, total: progress.update(bar, completed=done))
    table = Table(title=f"Reward checks: {report.tasks} tasks, {report.cases} replays")
    for column in ("case", "replays", "failed", "mean reward", "caught by"):
        table.add_column(column)
    for case, row in report.summary.items():
        caught = ", ".join(f"{k} {v}" for k, v in sorted(row["caught_by"].items())) if case != "golden" else "-"
        table.add_row(case, str(row["cases"]), str(row["failed"]), f"{row['mean_reward']:.3f}", caught)
    console.print(table)
    for failure in report.failures[:20]:
        console.print(f"[red]FAIL[/] {failure.task_id} {failure.case} ({failure.tool_format}): reward {failure.reward:.3f}")
    passed = report.cases - len(report.failures)
    console.print(f"{passed}/{report.cases} checks passed ({100.0 * passed / max(1, report.cases):.1f}%)")
    if not report.passed:
        raise typer.Exit(code=1)


@app.command()
def rollout(
    pack_path: Path = typer.Argument(..., metavar="PACK"),
    policy: str = typer.Option("oracle", help="oracle, random, hf or openai."),
    workers: int = typer.Option(2, help="Ray actors."),
    envs_per_worker: int = typer.Option(4, help="Environments per actor, stepped in lockstep."),
    episodes: int = typer.Option(100, help="Episodes to play, cycling over the split's tasks."),
    split: str = typer.Option("test", help="train, test or all."),
    out: Path = typer.Option(..., "--out", help="Folder for trajectories.jsonl and summary.json."),
    sandbox: str = typer.Option("process", help="Sandbox backend inside the actors."),
    seed: int = typer.Option(0),
    base_url: Optional[str] = typer.Option(None, help="openai policy: the endpoint."),
    model: Optional[str] = typer.Option(None, help="openai policy: the model name; hf policy: smollm2 (default), a local folder or a cached hub id."),
    tool_format: Optional[str] = typer.Option(None, help="How the model is told to call tools: openai, hermes, python or json (default: hermes for hf, else openai)."),
    temperature: float = typer.Option(0.0, help="hf and openai policies: sampling temperature (0 is greedy)."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="openai policy: variable holding the key."),
    ray_address: Optional[str] = typer.Option(None, help="Join an existing Ray cluster."),
) -> None:
    """Play episodes on Ray actors; write trajectories and a summary (reward, success, Solve-P/R/F1)."""
    from gym_tools.rollout import RolloutPool, episode_specs, summarize

    pack = open_pack(pack_path)
    task_ids = [t.id for t in pack.split(split)]
    if not task_ids:
        raise fail(f"the pack has no tasks in split {split!r}")
    prompt_format = tool_format or ("hermes" if policy == "hf" else "openai")
    options: dict[str, object] = {}
    if policy == "openai":
        if not base_url or not model:
            raise fail("the openai policy needs --base-url and --model")
        options = {"base_url": base_url, "model": model, "api_key_env": api_key_env, "temperature": temperature}
    if policy == "hf":
        options = {"model": model or "smollm2", "tool_format": prompt_format, "temperature": temperature}
    specs = episode_specs(task_ids, episodes, seed)
    env_options = {"sandbox": sandbox, "tool_format": "auto" if prompt_format == "openai" else prompt_format}
    pool = RolloutPool(pack_path, workers, envs_per_worker, policy, options, env_options, ray_address)
    try:
        with progress_bar() as progress:
            bar = progress.add_task(f"{policy} rollouts on {workers} Ray workers", total=len(specs))
            trajectories = pool.run(specs, lambda done, total: progress.update(bar, completed=done))
    finally:
        pool.close()
    summary = summarize(trajectories)
    out.mkdir(parents=True, exist_ok=True)
    lines = [t.model_dump_json() for t in trajectories]
    (out / "trajectories.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    table = Table(title=f"{policy}: {len(trajectories)} episodes")
    columns = ("mean_reward", "success_rate", "solve_p", "solve_r", "solve_f1", "mean_turns", "mean_calls", "parse_errors")
    table.add_column("group")
    for column in columns:
        table.add_column(column, justify="right")
    rows = [("overall", summary["overall"])] + [(f"structure {k}", v) for k, v in summary["by_structure"].items()]
    rows += [(f"level {k}", v) for k, v in summary["by_level"].items()]
    for label, metrics in rows:
        table.add_row(label, *[str(metrics[c]) for c in columns])
    console.print(table)
    if summary["failed_episodes"]:
        console.print(f"[red]failed episodes:[/] {summary['failed_episodes']}")
    console.print(f"[green]wrote[/] {out / 'trajectories.jsonl'} and {out / 'summary.json'}")


@app.command()
def export(
    pack_path: Path = typer.Argument(..., metavar="PACK"),
    out: Path = typer.Option(..., "--out", help="A .jsonl or .parquet file."),
    split: str = typer.Option("train", help="train, test or all."),
    layout: str = typer.Option("steps", help="steps (golden-prefix rows), episodes (step 0 only) or verl (verl's RL dataset rows)."),
    tool_format: str = typer.Option("hermes", help="How calls are written in prompts and completions: hermes, python, json or openai."),
) -> None:
    """Write a pack as training rows for any trainer (schema: docs/export.md)."""
    from gym_tools.trainers.export import step_rows, write_rows
    from gym_tools.trainers.verl import verl_rows

    pack = open_pack(pack_path)
    if layout not in ("steps", "episodes", "verl"):
        raise fail(f"--layout must be steps, episodes or verl, not {layout!r}")
    if not pack.split(split):
        raise fail(f"the pack has no tasks in split {split!r}")
    rows = verl_rows(pack_path, split) if layout == "verl" else step_rows(pack, split, tool_format, prefixes=layout == "steps")
    try:
        write_rows(rows, out)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    console.print(f"wrote {len(rows)} {layout} rows to {out}")


@app.command("serve-model")
def serve_model(
    model: str = typer.Option("smollm2", help="smollm2, a local folder or a cached hub id."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000, help="0 picks a free port."),
    max_new_tokens: int = typer.Option(256),
) -> None:
    """Serve a local causal LM as an OpenAI-compatible chat endpoint (for --policy openai and any client)."""
    from gym_tools.hf import ModelUnavailable
    from gym_tools.serve import ChatModel, make_server

    try:
        chat_model = ChatModel(model, max_new_tokens)
    except (ModelUnavailable, OSError) as exc:
        raise fail(str(exc)) from exc
    server = make_server(chat_model, host, port)
    console.print(f"serving {model} at http://{host}:{server.server_address[1]}/v1", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


@sandbox_app.command("build-image")
def build_image_command(image: str = typer.Option("envgen-sandbox:latest"), mirror: str = typer.Option("http://deb.debian.org/debian")) -> None:
    """Build the docker backend's image with no registry (debootstrap + docker import)."""
    from sandbox.image import build_image

    console.print(f"building {image} from a debootstrap rootfs ({mirror}) ...")
    console.print(f"[green]built[/] {image}: {build_image(image, mirror=mirror)}")


@sandbox_app.command("backends")
def backends_command() -> None:
    """Which sandbox backends can start here, and which `auto` picks."""
    from sandbox import BACKENDS, backend_available, resolve_backend

    for name in BACKENDS:
        console.print(f"{name:10s} {'available' if backend_available(name) else 'unavailable'}")
    console.print(f"auto -> {resolve_backend('auto')}")


if __name__ == "__main__":
    app()

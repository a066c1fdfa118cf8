"""The commands beside ``check`` and ``compose``: ``parse``, ``image``, ``init``, ``knowledge`` (and
``knowledge refresh``), ``rules``, ``rule`` and ``lsp``; ``register`` adds them to the group."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dockaudit.options import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, SEVERITY_CHOICES, fail, parse_build_args, refuse_unknown_selectors, split_list
from dockaudit.files import InputError, read_dockerfile
from dockaudit.report.output import ReportWriteError, report_targets, valid_utf8, write_report


@click.command("parse")
@click.argument("path")
@click.option("--format", "output_format", type=click.Choice(["json", "dump"]), default="json", show_default=True)
@click.option("--build-arg", "build_args", multiple=True, help="NAME=VALUE, as docker build --build-arg.")
def parse_command(path: str, output_format: str, build_args: tuple[str, ...]) -> None:
    """Print the instruction tree (json), or BuildKit's own AST dump text (dump)."""
    from dockaudit.syntax.parser import DockerfileSyntaxError, parse

    try:
        data = read_dockerfile(path)
        tree = parse(data, None if path == "-" else path)
    except InputError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    except DockerfileSyntaxError as exc:
        fail(f"{path}:{exc.line}: {exc.message}")
        sys.exit(EXIT_ERROR)
    if output_format == "dump":
        from dockaudit.syntax.dump import dump

        click.echo(valid_utf8(dump(tree)), nl=False)
    else:
        import json

        from dockaudit.context import LintContext, Options
        from dockaudit.facts.knowledge import KnowledgeError
        from dockaudit.facts.mlfacts import ml_facts
        from dockaudit.syntax.tree_json import tree_to_dict

        arguments = parse_build_args(build_args)
        document = tree_to_dict(tree, arguments)
        context_dir = Path(path).resolve().parent if path != "-" else None
        ctx = LintContext(tree, Options(build_args=arguments, context_dir=context_dir, use_context=path != "-"))
        try:
            from dockaudit.facts.knowledge import load_knowledge
            from dockaudit.facts.knowledge.summary import unknown_facts

            document["facts"] = [stage.to_json() for stage in ml_facts(ctx).stages]
            for stage in document["facts"]:
                stage["unknown_to_tables"] = unknown_facts(stage, load_knowledge())
        except KnowledgeError as exc:
            fail(str(exc))
            sys.exit(EXIT_ERROR)
        click.echo(valid_utf8(json.dumps(document, indent=2, ensure_ascii=False)))


@click.command("image")
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "formats", multiple=True, metavar="FORMAT[:FILE]", help="As for check.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the (first) report to FILE."
)
@click.option("--select", multiple=True, help="Rule ids, prefixes, names or presets to run (default: the DA8xx rules).")
@click.option("--ignore", multiple=True, help="Rule ids, prefixes, names or presets to skip.")
@click.option("--platform", default="linux/amd64", show_default=True, help="The image of an index to audit.")
@click.option("--all-platforms", is_flag=True, help="Audit every image of an index.")
@click.option("--insecure", is_flag=True, help="Plain HTTP for docker:// registries (local test registries).")
@click.option("--dockerfile", "dockerfile_path", type=click.Path(dir_okay=False, exists=True),
              help="The Dockerfile the image was built from: its rules run too, and findings name its lines.")  # fmt: skip
@click.option("--max-image-size", type=float,
              help="Budget in MiB for the whole image (DA805; config: max-image-size).")  # fmt: skip
@click.option("--max-layer-size", type=float, help="Budget in MiB for one layer (DA805; config: max-layer-size).")
@click.option("--max-layer-unpacked", type=click.FloatRange(min=0, min_open=True), default=256, show_default=True,
              help="GiB one compressed layer may inflate to; beyond it the layer is refused as a bomb.")  # fmt: skip
@click.option("--max-unpacked", type=click.FloatRange(min=0, min_open=True), default=1024, show_default=True,
              help="GiB all layers of an image may inflate to.")  # fmt: skip
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="Use this config file (default: the nearest one up from the working directory).")  # fmt: skip
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--fail-on", type=click.Choice(SEVERITY_CHOICES), default="warning", show_default=True)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on.")
@click.option("--no-color", is_flag=True, help="Plain text even on a terminal.")
@click.option("--quiet", "-q", is_flag=True, help="Only the finding lines.")
def image_command(sources, formats, output, select, ignore, platform, all_platforms, insecure, dockerfile_path,
                  max_image_size, max_layer_size, max_layer_unpacked, max_unpacked, config_file, isolated, fail_on,
                  exit_zero, no_color, quiet) -> None:  # fmt: skip
    """Audit built images: docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF],
    docker://[HOST/]NAME[:TAG|@DIGEST] (a bare NAME:TAG is Docker Hub), docker-daemon:NAME."""
    from dockaudit.config import ConfigError
    from dockaudit.image.audit import audit_source
    from dockaudit.image.layers import UnpackBudget
    from dockaudit.run import Flags, configured, exit_code, image_plan

    flags = Flags(select=split_list(select), ignore=split_list(ignore),
                  config=Path(config_file) if config_file else None, isolated=isolated)  # fmt: skip
    refuse_unknown_selectors(select=flags.select, ignore=flags.ignore)
    try:
        plan = image_plan(flags, max_image_size, max_layer_size)
    except ConfigError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    unpack = UnpackBudget(int(max_layer_unpacked * 1024**3), int(max_unpacked * 1024**3))
    tables: list[str] = []
    show_tables = not quiet and (not formats or formats == ("text",))

    def remember(ctx) -> None:
        if show_tables:
            from dockaudit.report.layers import render_layers

            tables.append(render_layers(ctx))

    dockerfile_result = None
    if dockerfile_path:  # judged with its own configuration's rules, as `dockaudit check` would
        from dockaudit.run import lint_file

        try:
            dockerfile_result = lint_file(Flags(config=flags.config, isolated=isolated), dockerfile_path)
        except ConfigError as exc:
            fail(str(exc))
            sys.exit(EXIT_ERROR)
        if isinstance(dockerfile_result, InputError):
            fail(str(dockerfile_result))
            sys.exit(EXIT_ERROR)
    tree = dockerfile_result.dockerfile if dockerfile_result else None
    from dockaudit.image.progress import progress_for

    progress = progress_for(sys.stderr)  # a bar on a terminal only: None in CI logs, pipes and tests
    results = [
        r for s in sources
        for r in audit_source(s, plan.rules, plan.options, platform, all_platforms, insecure, remember, tree, unpack,
                              progress)  # fmt: skip
    ]
    results = configured(flags, results, {r.path: plan for r in results})  # the image plan's filter, per image
    if dockerfile_result is not None:
        from dockaudit.image.audit import merge_secret_findings

        merge_secret_findings(results, dockerfile_result)
        results.append(dockerfile_result)
    for table in tables:
        click.echo(table)
    for result in results:
        if result.error:
            fail(result.error)
    findings = [f for r in results for f in r.findings]
    try:
        for report_format, destination in report_targets(formats, output):
            write_report(results, findings, report_format, destination, no_color, _image_layout(quiet))
    except ReportWriteError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    sys.exit(exit_code(results, fail_on, exit_zero))


def _image_layout(quiet: bool):
    from dockaudit.report.text import Layout

    return Layout(quiet=quiet)


@click.command("init")
@click.argument("folder", default=".", type=click.Path(file_okay=False, exists=True))
def init_command(folder: str) -> None:
    """Write a commented starter .dockaudit.toml into FOLDER (never overwrites)."""
    from dockaudit.config import ConfigError, write_starter

    try:
        target = write_starter(Path(folder))
    except ConfigError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    click.echo(f"Wrote {target}.")


@click.group("knowledge", invoke_without_command=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def knowledge_command(context: click.Context, output_format: str) -> None:
    """What the ML knowledge tables cover: versions, CUDA driver floors, end-of-life dates, their date
    (`knowledge refresh` reads them again from their sources)."""
    if context.invoked_subcommand is not None:
        return
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge
    from dockaudit.facts.knowledge.summary import summarize_knowledge

    try:
        summary = summarize_knowledge(load_knowledge())
    except KnowledgeError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    if output_format == "json":
        import json

        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"Knowledge tables as of {summary['as_of']} (dockaudit/facts/knowledge/ml-compat.toml, base-images.toml)")
    for key, value in summary.items():
        if key != "as_of":
            click.echo(f"  {key:<22} {', '.join(value) if isinstance(value, list) else value}")


@knowledge_command.command("refresh")
@click.option("--pypi", default="https://pypi.org/simple/", show_default=True, help="A PEP 691 simple index.")
@click.option("--pytorch-index", default="https://download.pytorch.org/whl/", show_default=True,
              help="The PyTorch wheel index ('' to skip).")  # fmt: skip
@click.option("--registry-image", default="nvidia/cuda", show_default=True,
              help="The CUDA image whose tag list is read ('' to skip).")  # fmt: skip
@click.option("--write", "write_to", type=click.Path(dir_okay=False), default=None,
              help="Also write the refreshed facts to this override file (load it with DOCKAUDIT_KNOWLEDGE_OVERRIDE).")
def knowledge_refresh_command(pypi: str, pytorch_index: str, registry_image: str, write_to: str | None) -> None:
    """Read the version tables again from PyPI, the PyTorch index and the registry, and print the diff against
    the shipped tables for a maintainer to review (nothing installed is changed). Exit 1 when facts changed."""
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge
    from dockaudit.facts.knowledge.refresh import Sources, refresh, render_toml, review_diff, write_override

    try:
        shipped = load_knowledge().raw
    except KnowledgeError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    result = refresh(Sources(pypi, pytorch_index or None, registry_image or None),
                     shipped=shipped.get("ml-compat.toml", {}))  # fmt: skip
    for problem in result.problems:
        fail(f"not refreshed: {problem}")
    diff = review_diff({"ml-compat": shipped.get("ml-compat.toml", {})}, result.override)
    click.echo(valid_utf8(diff) if diff else "The sources agree with the shipped tables.", nl=not diff)
    if write_to:
        try:
            write_override(write_to, render_toml(result.override))
        except OSError as exc:
            fail(f"{write_to}: cannot write: {exc.strerror or exc}")
            sys.exit(EXIT_ERROR)
        except ValueError as exc:
            fail(f"{write_to}: {exc}")
            sys.exit(EXIT_ERROR)
        click.echo(f"Wrote {write_to}; later runs load it with DOCKAUDIT_KNOWLEDGE_OVERRIDE={write_to}.", err=True)
    sys.exit(EXIT_FINDINGS if diff else EXIT_CLEAN)


@click.command("rules")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "markdown", "reference"]),
              default="table", show_default=True)  # fmt: skip
def rules_command(output_format: str) -> None:
    """List the rule catalogue (reference: the catalogue plus every rule's docs, as in docs/rules.md)."""
    from dockaudit.linting.catalogue import render_catalogue, render_reference

    click.echo(render_reference() if output_format == "reference" else render_catalogue(output_format), nl=False)


@click.command("rule")
@click.argument("rule_id")
def rule_command(rule_id: str) -> None:
    """Show one rule's full documentation (by id, name or hadolint/BuildKit alias), or a preset's rules."""
    from dockaudit.linting.catalogue import render_preset, render_rule_docs
    from dockaudit.linting.engine import rule_by_id

    found = rule_by_id(rule_id)
    preset = render_preset(rule_id) if found is None else None
    if preset is not None:
        click.echo(preset, nl=False)
        return
    if found is None:
        fail(f"unknown rule {rule_id!r} (see `dockaudit rules`)")
        sys.exit(EXIT_ERROR)
    click.echo(render_rule_docs(found), nl=False)


@click.command("lsp")
def lsp_command() -> None:
    """Run the language server on stdio (for editors; needs the lsp extra: pip install 'dockaudit-lint[lsp]')."""
    try:
        from dockaudit.lsp.server import serve
    except ImportError as exc:
        missing = (exc.name or "pygls").split(".")[0]  # the distribution, not the submodule that failed
        fail(f"lsp: {missing} is not installed: pip install 'dockaudit-lint[lsp]'")
        sys.exit(EXIT_ERROR)
    serve(sys.stdin.buffer, sys.stdout.buffer)


def register(group: click.Group) -> None:
    """Add the commands to ``group`` (``dockaudit.cli.LAZY_COMMANDS`` names them without importing this)."""
    for command in (parse_command, image_command, init_command, knowledge_command, rules_command, rule_command,
                    lsp_command):
        group.add_command(command)

"""Linting a Compose project: the DA9xx rules over the merged file, and every service's Dockerfile
linted as Compose would build it (context, dockerfile or dockerfile_inline, args, target)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.compose.project import ComposeError, ComposeProject, YNode, load_project, service_build, service_image
from dockaudit.context import Options
from dockaudit.facts.dockerignore import dockerignore_problems
from dockaudit.facts.resources import Resources
from dockaudit.linting.engine import Place, lint_source, run_rules, to_finding
from dockaudit.files import InputError, read_dockerfile
from dockaudit.model import FileResult, Finding, Severity, Violation
from dockaudit.plugin import Rule
from dockaudit.records import record, replace
from dockaudit.syntax.source import Source, Span

if TYPE_CHECKING:
    from dockaudit.facts.knowledge import Knowledge


@record(frozen=False, slots=False)
class ServiceBuild:
    name: str
    service: YNode
    context: Path | None  # None: not read (remote, or outside the project)
    dockerfile: Path | None
    inline: str | None
    args: dict[str, str]
    target: str | None
    result: FileResult | None = None  # the Dockerfile linted with these settings


class ComposeContext:
    """What compose rules read: the merged project, its services, and each built service's Dockerfile."""

    def __init__(self, project: ComposeProject, options: Options | None = None,
                 resources: Resources | None = None) -> None:  # fmt: skip
        self.project = project
        self.options = options or Options()
        self.resources = resources or Resources(online=self.options.online)
        self.builds: dict[str, ServiceBuild] = {}

    @cached_property
    def knowledge(self) -> Knowledge:
        return self.resources.knowledge()

    @property
    def services(self) -> dict[str, YNode]:
        return self.project.services

    def span(self, node: YNode, key: bool = False) -> Span:
        if key and node.key_start is not None:
            return Span(node.key_start, node.key_end or node.key_start)
        return Span(node.start, max(node.end, node.start))

    def finding(self, node: YNode, message: str, key: bool = False) -> Violation:
        """A finding at ``node`` (at its key when ``key``), in the file of the project it came from."""
        return Violation(self.span(node, key), message, path=node.file)

    @cached_property
    def sources(self) -> dict[str, Source]:
        return {path: Source(text, path) for path, text in self.project.texts.items()}

    def stage_facts(self, name: str):
        """ML facts of the stage a built service runs (its target), or None."""
        build = self.builds.get(name)
        if build is None or build.result is None or build.result.dockerfile is None:
            return None
        from dockaudit.context import LintContext
        from dockaudit.facts.mlfacts import ml_facts

        # the context the build reads, or none when it is not read
        options = Options(build_args=build.args, target=build.target, context_dir=build.context,
                          use_context=build.context is not None)  # fmt: skip
        ctx = LintContext(build.result.dockerfile, options, self.resources)
        return ml_facts(ctx).of(ctx.target_stage) if ctx.target_stage else None

    def image_facts(self, name: str):
        """ML facts of the image an image-only service names, read as if it were a ``FROM`` line: the CUDA,
        framework and NGC release its tag settles. None for a service that builds, or names no literal image."""
        service = self.services.get(name)
        image = service_image(service) if service is not None and service.get("build") is None else ""
        if not image or "$" in image or "\n" in image:
            return None
        from dockaudit.context import LintContext
        from dockaudit.facts.mlfacts import ml_facts
        from dockaudit.syntax.parser import parse

        stages = ml_facts(LintContext(parse(f"FROM {image}\n"), Options(), self.resources)).stages
        return stages[0] if stages else None


def _service_builds(project: ComposeProject) -> tuple[dict[str, ServiceBuild], list[ComposeError]]:
    """The services that build, and the contexts and Dockerfiles that are not read (and why)."""
    builds, refused = {}, []
    for name, service in project.services.items():
        if service.get("build") is None:
            continue
        settings = service_build(project, service)
        if settings.refused is not None:
            refused.append(settings.refused)
        builds[name] = ServiceBuild(name, service, settings.context, settings.dockerfile, settings.inline,
                                    settings.args, settings.target)  # fmt: skip
    return builds, refused


def _unread_ignore_files(builds: Iterable[ServiceBuild]) -> list[InputError]:
    """The ignore files of the services' contexts that are not read (FIFOs, links out), each said once."""
    problems: dict[str, InputError] = {}
    for build in builds:
        if build.context is not None and (build.dockerfile is not None or build.inline is not None):
            for problem in dockerignore_problems(build.context, build.dockerfile):
                problems.setdefault(problem.path, problem)
    return list(problems.values())


def lint_compose(
    files: list[Path],
    rules: Sequence[Rule],
    options: Options | None = None,
    env_files: list[Path] | None = None,
    project_directory: Path | None = None,
    environ: dict[str, str] | None = None,
    buffers: Mapping[str, str] | None = None,
    resources: Resources | None = None,
) -> list[FileResult]:
    """Results for the compose files (DA9xx findings) and for every Dockerfile the services build.

    Files the project names but that are not read (outside the project directory, remote, not
    regular files) are results with a one-line error each; the rest of the project is still linted.
    ``environ``: variables for interpolation beyond ``.env``/``env_files`` (``--compose-environment``);
    ``buffers`` (real path → text): compose files and Dockerfiles as an editor holds them, unsaved;
    ``resources``: the door the rules and the services' Dockerfiles read through (``facts.resources``)."""
    shown = str(files[0])
    try:
        project = load_project(files, env_files, environ, project_directory, buffers)
    except ComposeError as error:
        finding = Finding("DA001", "parse-error", Severity.ERROR, error.message, error.path, error.line, 1,
                          error.line, 1)  # fmt: skip
        return [FileResult(error.path, [finding], None, f"line {error.line}: {error.message}")]
    ctx = ComposeContext(project, options, resources)
    ctx.builds, refused = _service_builds(project)
    unread = [FileResult(e.path, [], None, f"line {e.line}: {e.message}") for e in [*project.unread, *refused]]
    if (options or Options()).use_context:
        unread += [FileResult(e.path, [], None, e.reason) for e in _unread_ignore_files(ctx.builds.values())]
    results = _lint_service_dockerfiles(ctx, rules, options or Options(), buffers or {})
    by_file: dict[str, list[Finding]] = {str(f): [] for f in files}
    for finding in run_rules(rules, "compose", ctx, _in_project_file(ctx, shown), shown):
        by_file.setdefault(finding.path, []).append(finding)
    compose_results = [FileResult(path, sorted(found, key=Finding.sort_key), None) for path, found in by_file.items()]
    return compose_results + unread + results


def _in_project_file(ctx: ComposeContext, first: str) -> Place:
    """Placement in the project: each violation in the file it names (a project spans merged and
    included files), by default the ``first`` compose file."""

    def place(r: Rule, violation: Violation) -> Finding:
        path = violation.path or first
        return to_finding(r, violation, ctx.sources.get(path) or Source("", path), path)

    return place


def _shown(path: Path) -> str:
    """Relative to the working directory when below it, as the other reported paths are."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _lint_service_dockerfiles(
    ctx: ComposeContext, rules: Sequence[Rule], options: Options, buffers: Mapping[str, str]
) -> list[FileResult]:
    """Each distinct (Dockerfile, args, target) once; findings name the services that build it."""
    done: dict[tuple, FileResult] = {}
    services_of: dict[tuple, list[str]] = {}
    for name, build in ctx.builds.items():
        if build.dockerfile is None and build.inline is None:
            continue  # its context or Dockerfile is not read: lint_compose says why
        key = (str(build.dockerfile) if build.dockerfile else f"{name}:inline", tuple(sorted(build.args.items())),
               build.target)  # fmt: skip
        services_of.setdefault(key, []).append(name)
        if key in done:
            build.result = done[key]
            continue
        if build.inline is not None:
            data: bytes | str = build.inline
            path = f"{build.service.file} (services.{name}.build.dockerfile_inline)"
        elif str(build.dockerfile) in buffers:  # a real path (project_path resolved it), as buffers are keyed
            data = buffers[str(build.dockerfile)]
            path = _shown(build.dockerfile)
        else:
            assert build.dockerfile is not None
            try:
                data = read_dockerfile(str(build.dockerfile))
            except InputError as error:
                done[key] = FileResult(str(build.dockerfile), [], None, f"cannot read ({error.reason}) for "
                                       f"compose service {name}")  # fmt: skip
                continue
            path = _shown(build.dockerfile)
        service_options = replace(options, build_args={**options.build_args, **build.args},
                                  target=build.target or options.target, context_dir=build.context,
                                  use_context=options.use_context and build.context is not None)  # fmt: skip
        result = lint_source(data, path, rules, service_options, ctx.resources)
        build.result = result
        done[key] = result
    results = []
    for key, result in done.items():
        names = ", ".join(services_of[key])
        result.findings = [replace(f, message=f"{f.message} (compose service {names})") for f in result.findings]
        results.append(result)
    return results

"""What to run on each file: command-line flags merged over the file's configuration.

Flags win: ``--select`` replaces the configured selection, ``--ignore`` and
``--extend-select`` add to it; options given on the command line replace the
configured ones.  Files under different configurations get different plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dockaudit.config import Config, find_config, read_config
from dockaudit.context import Options
from dockaudit.engine import load_rules, select_rules
from dockaudit.plugin import Rule


@dataclass(frozen=True)
class Flags:
    """The command line's say, before any configuration file is read."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    config: Path | None = None  # --config
    isolated: bool = False  # --isolated
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    context_dir: Path | None = None
    use_context: bool = True
    min_driver: str | None = None
    trusted_registries: tuple[str, ...] = ()
    online: bool = False


@dataclass(frozen=True)
class FilePlan:
    config: Config
    rules: tuple[Rule, ...]
    options: Options

    @property
    def rules_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def config_for(flags: Flags, folder: Path) -> Config:
    if flags.config is not None:
        return read_config(flags.config)
    if flags.isolated:
        return Config()
    return find_config(folder.resolve())


def plan_for(flags: Flags, path: str) -> FilePlan:
    """The rules and options for one file (``-`` is judged from the working directory)."""
    folder = Path.cwd() if path == "-" else Path(path).resolve().parent
    config = config_for(flags, folder)
    rules = select_rules(
        load_rules(),
        flags.select or config.select,
        (*config.ignore, *flags.ignore),
        (*config.extend_select, *flags.extend_select),
    )
    context = flags.context_dir or config.context
    if context is None and flags.use_context and path != "-":
        context = folder
    options = Options(
        target=flags.target,
        build_args=flags.build_args,
        context_dir=context,
        use_context=flags.use_context,
        trusted_registries=flags.trusted_registries or config.trusted_registries,
        allowed_base_images=config.allowed_base_images,
        label_schema=config.label_schema,
        strict_labels=config.strict_labels,
        min_driver=flags.min_driver or config.min_driver,
        online=flags.online,
    )
    return FilePlan(config, tuple(rules), options)


def lint_file(flags: Flags, path: str, plan: FilePlan | None = None):
    """Read, lint and configure one file: a ``FileResult``, or the ``InputError`` that stopped it.

    A top-level function so that ``--jobs`` can run it in worker processes.
    """
    from dockaudit.config import apply_config
    from dockaudit.engine import lint_source
    from dockaudit.files import InputError, read_dockerfile

    plan = plan or plan_for(flags, path)
    try:
        data = read_dockerfile(path)
    except InputError as error:
        return error
    result = lint_source(data, None if path == "-" else path, plan.rules, plan.options)
    result.findings = apply_config(result.findings, plan.config, result.path, plan.rules_by_id)
    return result


def lint_files(flags: Flags, paths: list[str], plans: dict[str, FilePlan], jobs: int) -> list:
    """Every file's result in input order; many files are spread over ``jobs`` processes."""
    if jobs <= 1 or len(paths) < 4 * jobs or "-" in paths:
        return [lint_file(flags, path, plans[path]) for path in paths]
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, len(paths) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs) as pool:  # workers build their own plans: rules do not pickle
        return list(pool.map(lint_file, [flags] * len(paths), paths, chunksize=chunk))

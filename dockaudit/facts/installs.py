"""Package-manager commands read from the shell view of RUN: which tool, which action, which packages.

One parser per tool family turns a ``Command`` into an ``Invocation``: the tool
(``apt-get``, ``pip``, ``npm`` …), its normalised action (``install``, ``update``,
``clean`` …), the option words with their values, and the package words.  Knowing
which options take a value is what keeps ``pip install --prefix /opt x==1`` from
reporting ``/opt`` as a package.  Rules read ``Invocation``s, never raw argv.
"""

from __future__ import annotations

import re

from dockaudit.records import record, set_field
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command, ShellWord
from dockaudit.patterns import lazy_pattern


@record
class Option:
    name: str  # as written up to ``=``: "-y", "--no-cache-dir", "-r"
    value: str | None
    word: ShellWord

    def __init__(self, name: str, value: str | None, word: ShellWord) -> None:  # written out: every lint, every option
        set_field(self, "name", name)
        set_field(self, "value", value)
        set_field(self, "word", word)


@record
class Invocation:
    tool: (
        str  # normalised: apt-get, apt, aptitude, pip, uv, pipx, conda, apk, yum, dnf, zypper, npm, yarn, pnpm, gem, go
    )
    action: str  # normalised subcommand: install, update, upgrade, remove, clean, …  ("" when none)
    command: Command
    verb: ShellWord | None  # the subcommand word as written
    options: tuple[Option, ...]
    packages: tuple[ShellWord, ...]  # the positional words after the action
    program: str = ""  # as invoked: "pip3", "microdnf", "python -m pip", "uv pip"

    def __init__(self, tool: str, action: str, command: Command, verb: ShellWord | None, options: tuple[Option, ...],
                 packages: tuple[ShellWord, ...], program: str = "") -> None:  # written out: every lint, every install
        set_field(self, "tool", tool)
        set_field(self, "action", action)
        set_field(self, "command", command)
        set_field(self, "verb", verb)
        set_field(self, "options", options)
        set_field(self, "packages", packages)
        set_field(self, "program", program)

    def has(self, *names: str) -> bool:
        """True when any of the options is present (short flags also inside clusters like ``-yq``)."""
        for option in self.options:
            if option.name in names:
                return True
            if option.name.startswith("-") and not option.name.startswith("--") and option.value is None:
                if any(len(n) == 2 and n[0] == "-" and n[1] != "-" and n[1] in option.name[1:] for n in names):
                    return True
        return False

    def values(self, *names: str) -> list[str]:
        return [o.value for o in self.options if o.name in names and o.value is not None]


# Options that take a separate value, per tool family.  Everything else is a flag.
_APT_VALUES = {"-o", "-c", "-t", "--target-release", "--default-release", "--option", "--config-file", "-a",
               "--host-architecture"}  # fmt: skip
_PIP_VALUES = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
               "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--build",
               "--src", "--trusted-host", "--platform", "--python-version", "--implementation", "--abi",
               "--root-user-action", "--upgrade-strategy", "--progress-bar", "--cache-dir", "--log", "--proxy",
               "--retries", "--timeout", "--exists-action", "--cert", "--client-cert", "--python", "-p",
               "--report", "--config-settings", "-C", "--global-option", "--install-option", "--only-binary",
               "--no-binary", "--index-strategy", "--keyring-provider", "--group", "--pip-args",
               "--suffix", "--preinstall", "--spec"}  # fmt: skip
_CONDA_VALUES = {"-n", "--name", "-p", "--prefix", "-c", "--channel", "--file", "-f", "--override-channels",
                 "--repodata-fn", "--subdir", "--platform", "-r", "--root-prefix"}  # fmt: skip
_APK_VALUES = {"-t", "--virtual", "-X", "--repository", "--root", "-p", "--arch", "--cache-dir", "--keys-dir",
               "--repositories-file"}  # fmt: skip
_RPM_VALUES = {"-c", "--config", "--installroot", "--releasever", "--enablerepo", "--disablerepo", "--repo",
               "--setopt", "-x", "--exclude", "-R", "--randomwait", "-d", "--debuglevel", "-e",
               "--errorlevel", "--forcearch", "--repofrompath", "--repoid", "--destdir", "--downloaddir",
               "-r", "--type", "-t", "--from-repo", "--root"}  # fmt: skip
_NPM_VALUES = {"--registry", "--loglevel", "--prefix", "--cache", "--tag", "--userconfig", "--cwd", "--modules-folder",
               "--network-timeout", "--mutex", "--cache-folder", "--workspace", "-w", "--filter", "-C", "--dir",
               "--omit", "--include", "--install-strategy"}  # fmt: skip
_GEM_VALUES = {"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source", "-P", "--trust-policy",
               "--platform", "-g", "--file", "--build-root"}  # fmt: skip
_GO_VALUES = {"-C", "-p", "-tags", "-ldflags", "-gcflags", "-o", "-mod", "-modfile", "-overlay", "-pkgdir",
              "-toolexec", "-asmflags"}  # fmt: skip

_PYTHON = lazy_pattern(r"^python(?:\d+(?:\.\d+)*)?$")
_PIP = lazy_pattern(r"^pip(?:\d+(?:\.\d+)*)?$")
_VERB_ALIASES = {
    "in": "install", "i": "install", "add": "install", "isntall": "install", "it": "install",
    "up": "upgrade", "update": "update", "upgrade": "upgrade", "dist-upgrade": "upgrade", "full-upgrade": "upgrade",
    "dup": "upgrade", "up-min": "upgrade", "upgrade-minimal": "upgrade", "distro-sync": "upgrade",
    "rei": "reinstall", "ci": "ci", "rm": "remove", "del": "remove", "uninstall": "remove", "purge": "remove",
    "cc": "clean", "clean": "clean", "autoremove": "autoremove",
}  # fmt: skip


def read_invocation(command: Command) -> Invocation | None:
    """The package-manager call ``command`` makes, or None when it is not one."""
    name = command.name
    words = command.words
    if _PYTHON.match(name) and len(words) >= 3 and words[1].value == "-m":
        module = words[2].value
        if _PIP.match(module):
            return _parse(command, "pip", f"{name} -m {module}", words[3:], _PIP_VALUES)
        if module == "pipx":
            return _parse(command, "pipx", f"{name} -m pipx", words[3:], _PIP_VALUES)
        if module == "conda":
            return _parse(command, "conda", f"{name} -m conda", words[3:], _CONDA_VALUES)
        return None
    if _PIP.match(name):
        return _parse(command, "pip", name, words[1:], _PIP_VALUES)
    if name == "uv" and len(words) >= 2 and words[1].value == "pip":
        return _parse(command, "uv", "uv pip", words[2:], _PIP_VALUES)
    if name == "pipx":
        return _parse(command, "pipx", name, words[1:], _PIP_VALUES)
    if name in ("apt-get", "apt", "aptitude"):
        return _parse(command, name, name, words[1:], _APT_VALUES)
    if name in ("conda", "mamba", "micromamba"):
        rest = words[1:]
        if rest and rest[0].value == "env":  # conda env create / update: an environment file
            rest = rest[1:]
        return _parse(command, "conda", name, rest, _CONDA_VALUES)
    if name == "apk":
        return _parse(command, "apk", name, words[1:], _APK_VALUES)
    if name in ("yum", "dnf", "microdnf", "dnf5", "tdnf"):
        return _parse(
            command,
            "yum" if name == "yum" else "dnf",
            name,
            words[1:],
            _RPM_VALUES,
            subverbs=("module", "group", "groups"),
        )
    if name == "zypper":
        return _parse(command, "zypper", name, words[1:], _RPM_VALUES)
    if name in ("npm", "yarn", "pnpm"):
        return _parse(command, name, name, words[1:], _NPM_VALUES, subverbs=("global",))
    if name == "gem":
        return _parse(command, "gem", name, words[1:], _GEM_VALUES)
    if name == "go":
        return _parse(command, "go", name, words[1:], _GO_VALUES)
    return None


def _parse(
    command: Command,
    tool: str,
    program: str,
    args: tuple[ShellWord, ...],
    takes_value: set[str],
    subverbs: tuple[str, ...] = (),
) -> Invocation:
    options: list[Option] = []
    positional: list[ShellWord] = []
    i = 0
    only_positional = False
    while i < len(args):
        word = args[i]
        value = word.value
        if only_positional or not value.startswith("-") or value == "-":
            positional.append(word)
        elif value == "--":
            if tool == "gem":  # gem hands what follows ``--`` to the extension build
                break
            only_positional = True
        else:
            name, eq, attached = value.partition("=")
            if eq:
                options.append(Option(name, attached, word))
            elif value in takes_value and i + 1 < len(args):
                options.append(Option(value, args[i + 1].value, word))
                i += 1
            else:
                options.append(Option(value, None, word))
        i += 1
    verb = positional.pop(0) if positional else None
    action = _VERB_ALIASES.get(verb.value, verb.value) if verb else ""
    if verb is not None and verb.value in subverbs and positional:
        # "dnf module install x", "yarn global add x": the action is the second word
        second = positional.pop(0)
        action = f"{verb.value} {_VERB_ALIASES.get(second.value, second.value)}"
    return Invocation(tool, action, command, verb, tuple(options), tuple(positional), program)


def invocations(commands: list[Command]) -> list[Invocation]:
    found = []
    for command in commands:
        invocation = read_invocation(command)
        if invocation is not None:
            found.append(invocation)
    return found


def installs(invocation: Invocation) -> bool:
    """An install action: ``install``, ``add``, ``module install``, ``global add`` …"""
    return invocation.action.rsplit(" ", 1)[-1] in ("install", "reinstall")


def unquoted_redirect(raw: str) -> int | None:
    """The offset of the first ``<`` or ``>`` in a shell word *as written* that the shell reads as a
    redirection (outside quotes, not backslash-escaped), or None.

    ``numpy>=1.26`` → 5: POSIX shells split it into the word ``numpy`` and ``>`` to a file ``=1.26``.
    """
    quote = ""
    escaped = False
    for at, char in enumerate(raw):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "<>":
            return at
    return None


def in_branching_run(instruction: Instruction) -> bool:
    """The RUN chooses between commands (``if``/``case``): two installs in it may be alternatives, not
    one after the other."""
    return re.search(r"\b(?:case|if)\b", instruction.args_text) is not None


def is_literal(word: ShellWord) -> bool:
    """A literal word: variables, globs and substitutions are settled only at build time."""
    return "$" not in word.value and "`" not in word.value and not word.value.startswith("<")

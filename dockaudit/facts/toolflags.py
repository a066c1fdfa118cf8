"""Which options a package manager or shell tool accepts: the facts a fix is checked against.

A fix that writes a flag (``--no-cache-dir``, ``-y``, ``--progress=dot:giga``) must write one
the tool accepts, once.  The table lists, per tool and subcommand, the options that matter to
dockaudit's fixes and their neighbours; it is not every option of every tool, so
``accepts`` answers None ("not known") for an option it does not list.  Each entry names
its source.  ``SAME_OPTION`` groups spellings of one option: writing a second spelling of an
option already present is a duplicate (``uv pip install --no-cache --no-cache-dir`` fails:
uv's ``--no-cache-dir`` is a hidden alias of ``--no-cache``, and clap refuses an option given
twice).
"""

from __future__ import annotations

# (tool, subcommand) → options.  "tool" is dockaudit.facts.installs' normalised tool (``uv`` is
# ``uv pip``) or a command name; "" is the tool without a subcommand.
# fmt: off
FLAGS: dict[tuple[str, str], frozenset[str]] = {
    # pip install --help (pip 24.x, "Install Options" and "General Options"); --no-cache is
    # optparse's unambiguous prefix of --no-cache-dir, which pip accepts.
    ("pip", "install"): frozenset({
        "--no-cache-dir", "--no-cache", "-r", "--requirement", "-c", "--constraint", "-e", "--editable",
        "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-U", "--upgrade", "--user",
        "--no-deps", "-t", "--target", "--prefix", "--root", "--pre", "--no-build-isolation",
        "--break-system-packages", "--root-user-action", "--only-binary", "--no-binary", "-q", "--quiet",
        "-v", "--verbose", "--trusted-host", "--force-reinstall", "--ignore-installed", "-I",
        "--no-compile", "--no-warn-script-location", "--disable-pip-version-check", "--progress-bar",
    }),
    # uv pip install --help (uv 0.4+): cache options are global; --no-cache-dir is the hidden
    # alias added in astral-sh/uv#1380 for pip compatibility.
    ("uv", "install"): frozenset({
        "--no-cache", "-n", "--no-cache-dir", "--cache-dir", "--system", "-r", "--requirement",
        "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url", "--index",
        "--default-index", "-f", "--find-links", "-U", "--upgrade", "--no-deps", "--target", "--prefix",
        "--python", "-p", "--break-system-packages", "--pre", "--prerelease", "--no-build-isolation",
        "--only-binary", "--no-binary", "--compile-bytecode", "--index-strategy", "-q", "--quiet",
        "-v", "--verbose", "--link-mode", "--torch-backend",
    }),
    # apt-get(8) and apt(8): -y/--yes/--assume-yes, --no-install-recommends, -q; options are
    # accepted anywhere on the command line.
    ("apt-get", "install"): frozenset({
        "-y", "--yes", "--assume-yes", "--no-install-recommends", "--no-install-suggests", "-q", "--quiet",
        "-qq", "-o", "--option", "-t", "--target-release", "--allow-downgrades", "--fix-missing", "-f",
        "--fix-broken", "--reinstall", "--allow-unauthenticated", "--allow-change-held-packages",
    }),
    ("apt", "install"): frozenset({
        "-y", "--yes", "--assume-yes", "--no-install-recommends", "--no-install-suggests", "-q", "--quiet",
        "-qq", "-o", "--option", "-t", "--target-release", "-f", "--fix-broken", "--reinstall",
    }),
    # aptitude(8): -y/--assume-yes; it has no --no-install-recommends (that is -R).
    ("aptitude", "install"): frozenset({"-y", "--assume-yes", "-R", "--without-recommends", "-q"}),
    # apk(8) (apk-tools 2.x): --no-cache is a global option, valid after "add".
    ("apk", "install"): frozenset({
        "--no-cache", "-t", "--virtual", "-U", "--update-cache", "-X", "--repository", "--upgrade", "-u",
        "--allow-untrusted", "-q", "--quiet", "--force-overwrite", "--no-scripts",
    }),
    # dnf(8) / yum(8) / microdnf --help: -y/--assumeyes is a global option accepted after the
    # command (microdnf accepts it and always assumes yes).
    ("dnf", "install"): frozenset({
        "-y", "--assumeyes", "--setopt", "--nodocs", "--enablerepo", "--disablerepo", "-q", "--quiet",
        "--allowerasing", "--best", "--nobest", "--refresh", "--installroot", "--releasever",
    }),
    ("yum", "install"): frozenset({
        "-y", "--assumeyes", "--setopt", "--nodocs", "--enablerepo", "--disablerepo", "-q", "--quiet",
        "--skip-broken", "--installroot", "--releasever",
    }),
    ("dnf", "clean"): frozenset(),  # "dnf clean all": a subcommand word, no option
    ("yum", "clean"): frozenset(),
    # zypper(8): "install" takes -y/--no-confirm (alias of the global -n/--non-interactive).
    ("zypper", "install"): frozenset({
        "-y", "--no-confirm", "--no-recommends", "-l", "--auto-agree-with-licenses", "--force", "-f",
    }),
    ("zypper", "clean"): frozenset({"-a", "--all", "-m", "--metadata", "-M", "--raw-metadata"}),
    # conda clean --help (conda 23+), micromamba clean --help: -a/--all, -f/--force-pkgs-dirs, -y/--yes.
    ("conda", "clean"): frozenset({
        "-a", "--all", "-f", "--force-pkgs-dirs", "-y", "--yes", "-i", "--index-cache", "-p", "--packages",
        "-t", "--tarballs", "-q", "--quiet",
    }),
    # npm-cache(1): "npm cache clean" refuses to run without --force since npm 5.
    ("npm", "cache"): frozenset({"--force", "-f"}),
    # yarn cache clean (classic and berry): no option needed.
    ("yarn", "cache"): frozenset({"--all", "--mirror"}),
    # GNU Wget manual, "Logging and Input File Options" / "Download Options".
    ("wget", ""): frozenset({
        "--progress", "-q", "--quiet", "-nv", "--no-verbose", "-O", "--output-document", "-o",
        "--output-file", "-a", "--append-output", "-c", "--continue", "-P", "--directory-prefix",
        "--header", "-T", "--timeout", "-t", "--tries", "--no-check-certificate", "-U", "--user-agent",
    }),
    # BusyBox wget usage (BusyBox 1.36, Alpine's default wget): no --progress, no -nv.
    ("busybox-wget", ""): frozenset({
        "-c", "--continue", "-q", "--quiet", "-S", "--server-response", "-O", "--output-document",
        "-o", "--output-file", "-P", "--directory-prefix", "-Y", "--proxy", "-U", "--user-agent", "-T",
        "--timeout", "--header", "--post-data", "--post-file", "--spider", "--no-check-certificate",
    }),
    # shadow-utils useradd(8): -l/--no-log-init.
    ("useradd", ""): frozenset({
        "-l", "--no-log-init", "-u", "--uid", "-g", "--gid", "-G", "--groups", "-m", "--create-home",
        "-M", "--no-create-home", "-r", "--system", "-s", "--shell", "-d", "--home-dir", "-U",
        "--user-group", "-N", "--no-user-group", "-c", "--comment", "-o", "--non-unique",
    }),
    # rm(1), GNU coreutils and BusyBox alike.
    ("rm", ""): frozenset({"-r", "-R", "--recursive", "-f", "--force", "-v", "-rf", "-fr"}),
}
# fmt: on

# Spellings of one option (the first is the one fixes write).  Giving two of them is a duplicate.
SAME_OPTION: dict[str, tuple[frozenset[str], ...]] = {
    "uv": (frozenset({"--no-cache", "-n", "--no-cache-dir"}),),  # astral-sh/uv#1380: hidden alias
    "pip": (frozenset({"--no-cache-dir", "--no-cache"}),),  # optparse prefix of --no-cache-dir
    "apt-get": (frozenset({"-y", "--yes", "--assume-yes"}),),
    "apt": (frozenset({"-y", "--yes", "--assume-yes"}),),
    "dnf": (frozenset({"-y", "--assumeyes"}),),
    "yum": (frozenset({"-y", "--assumeyes"}),),
    "zypper": (frozenset({"-y", "--no-confirm", "-n", "--non-interactive"}),),
}


def accepts(tool: str, subcommand: str, option: str) -> bool | None:
    """Whether ``tool subcommand`` takes ``option`` (the name before any ``=``); None when the table
    does not cover that tool and subcommand.  A short cluster (``-afy``) is accepted when each letter is."""
    known = FLAGS.get((tool, subcommand))
    if known is None:
        return None
    name = option.split("=", 1)[0]
    if name in known:
        return True
    if name.startswith("-") and not name.startswith("--") and len(name) > 2:
        return all(f"-{letter}" in known for letter in name[1:])
    return False


def spellings(tool: str, option: str) -> frozenset[str]:
    """Every spelling of ``option`` for ``tool`` (just ``option`` when it has no other)."""
    for group in SAME_OPTION.get(tool, ()):
        if option in group:
            return group
    return frozenset({option})

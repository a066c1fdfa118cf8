"""Each safe fix holds only where its precondition does: the cases that broke builds, one per row.

A row is a Dockerfile, a rule, and what its first finding's fix must be: ``None`` (no fix, or
no finding when ``fires`` is False), or ``(safe, inserted text)``.
"""

from __future__ import annotations

import pytest

import dockaudit
from dockaudit.facts import baseos
from dockaudit.facts import toolflags

PIPE = "RUN wget -qO- https://example.com/x.tgz | tar xz\n"
BASH = 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
ASH = 'SHELL ["/bin/ash", "-eo", "pipefail", "-c"]\n'

# fmt: off
CASES = [
    # DA018: a SHELL the base has, at that path.
    ("debian", "DA018", "FROM debian:12-slim\n" + PIPE, (True, BASH)),
    ("cuda-ubuntu", "DA018", "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n" + PIPE, (True, BASH)),
    ("python-slim", "DA018", "FROM python:3.12-slim\n" + PIPE, (True, BASH)),
    ("rocky", "DA018", "FROM rockylinux:9\n" + PIPE, (True, BASH)),
    ("alpine", "DA018", "FROM alpine:3.20\n" + PIPE, (True, ASH)),
    ("alpine-stage", "DA018", "FROM alpine:3.20 AS base\nFROM base\n" + PIPE, (True, ASH)),
    ("node-alpine", "DA018", "FROM node:22-alpine\n" + PIPE, (True, ASH)),
    ("alpine-with-bash", "DA018", "FROM alpine:3.20\nRUN apk add --no-cache bash\n" + PIPE, (True, BASH)),
    # bash installed by the RUN itself is not there to run it
    ("bash-this-run", "DA018", "FROM alpine:3.20\nRUN apk add bash && a | b\n", (True, ASH)),
    ("bash-image", "DA018", "FROM bash:5.2\n" + PIPE, (True, 'SHELL ["/usr/local/bin/bash", "-o", "pipefail", "-c"]\n')),
    ("busybox", "DA018", "FROM busybox:1.36\n" + PIPE, None),
    ("arg-base", "DA018", "ARG BASE=debian:12\nFROM ${BASE}\n" + PIPE, (False, BASH)),
    ("unlisted", "DA018", "FROM example.com/team/base:1\n" + PIPE, (False, BASH)),
    ("windows", "DA018", "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN type a | findstr b\n", False),
    ("inherited-shell", "DA018", "FROM debian:12 AS base\n" + BASH + "FROM base\n" + PIPE, False),
    # DA403: uv takes --no-cache-dir as --no-cache; the fix never writes a second spelling.
    ("uv-no-cache-dir", "DA403", "FROM python:3.12-slim\nRUN uv pip install --no-cache-dir --system x==1\n", False),
    ("uv-n", "DA403", "FROM python:3.12-slim\nRUN uv pip install -n --system x==1\n", False),
    ("uv", "DA403", "FROM python:3.12-slim\nRUN uv pip install --system x==1\n", (True, " --no-cache")),
    ("pip", "DA403", "FROM python:3.12-slim\nRUN pip install x==1\n", (True, " --no-cache-dir")),
    # DA014: a heredoc is one source; a '# …' tail is not a comment, and gets no '/'.
    ("heredoc", "DA014", "FROM alpine:3.20\nCOPY <<EOF /etc/app.conf\nport=1\nEOF\n", False),
    ("two-heredocs", "DA014", "FROM alpine:3.20\nCOPY <<a <<b /etc/app\n1\na\n2\nb\n", (True, "/")),
    ("comment", "DA014", "FROM alpine:3.20\nCOPY . .  # the project\n", None),
    ("flag-without-value", "DA014", "FROM alpine:3.20\nCOPY --chmod 777 a.txt /tmp\n", False),
    ("json-hash", "DA014", 'FROM alpine:3.20\nCOPY ["a", "#b", "/dst"]\n', None),
    # DA411: BusyBox wget refuses --progress.
    ("wget-alpine", "DA411", "FROM alpine:3.20\nRUN wget https://example.com/m.bin\n", (True, " -q")),
    ("wget-installed", "DA411", "FROM alpine:3.20\nRUN apk add --no-cache wget && wget https://e.com/m\n",
     (True, " --progress=dot:giga")),
    ("wget-debian", "DA411", "FROM debian:12\nRUN wget https://example.com/m.bin\n", (True, " --progress=dot:giga")),
    ("wget-unknown", "DA411", "FROM $BASE\nRUN wget https://example.com/m.bin\n", (False, " --progress=dot:giga")),
    # DA401: removing the lists a later RUN installs from breaks that RUN.
    ("lists-read-later", "DA401", "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n", None),
    ("lists-read-by-child", "DA401", "FROM debian:12 AS base\nRUN apt-get update\nFROM base\nRUN apt-get install -y x\n",
     None),
    ("lists-refreshed", "DA401", "FROM debian:12\nRUN apt-get update\nRUN apt-get update && apt-get install -y x\n",
     (True, " && rm -rf /var/lib/apt/lists/*")),
]
# fmt: on


@pytest.mark.parametrize(("rule", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fix_follows_its_precondition(rule, text, expected):
    findings = [f for f in dockaudit.lint(text, select=[rule]) if f.rule == rule]
    if expected is False:
        assert findings == []
        return
    assert findings, text
    fix = findings[0].fix
    if expected is None:
        assert fix is None
        return
    safe, inserted = expected
    assert fix is not None and fix.safe is safe
    assert fix.edits[0].replacement == inserted


def test_da014_says_dockerfiles_have_no_inline_comments():
    (finding,) = [f for f in dockaudit.lint("FROM alpine:3.20\nCOPY . .  # note\n", select=["DA014"])]
    assert "no inline comments" in finding.message and finding.column == 11


def test_da401_says_why_it_offers_no_fix():
    (finding,) = dockaudit.lint("FROM debian:12\nRUN apt-get update\nRUN apt-get install -y curl\n", select=["DA401"])
    assert "merge it into this one first" in finding.message


def test_da014_dot_destination_is_a_warning_buildkit_accepts():
    (finding,) = dockaudit.lint("FROM alpine:3.20\nCOPY go.mod go.sum .\n", select=["DA014"])
    assert finding.severity.label == "warning" and "BuildKit accepts '.'" in finding.message
    assert finding.fix is not None and finding.fix.safe and finding.fix.edits[0].replacement == "/"


def test_busybox_message_offers_set_o_pipefail():
    (finding,) = dockaudit.lint("FROM busybox:1.36\n" + PIPE, select=["DA018"])
    assert "no bash or ash" in finding.message and "set -o pipefail" in finding.message


@pytest.mark.parametrize(
    ("image", "family"),
    [
        ("debian:12-slim", baseos.DEBIAN),
        ("docker.io/library/ubuntu:24.04", baseos.DEBIAN),
        ("python:3.12", baseos.DEBIAN),
        ("python:3.12-alpine3.20", baseos.ALPINE),
        ("python:3.12-windowsservercore-ltsc2022", baseos.WINDOWS),
        ("golang", baseos.DEBIAN),
        ("nvidia/cuda:12.4.1-devel-ubi9", baseos.RHEL),
        ("nvidia/cuda:12.4.1-devel", None),
        ("nvcr.io/nvidia/cuda:12.6.0-base-ubuntu24.04", baseos.DEBIAN),
        ("bash:5", baseos.BASH_IMAGE),
        ("busybox:1.36-musl", baseos.BUSYBOX),
        ("registry.access.redhat.com/ubi9/ubi-minimal", None),
        ("mcr.microsoft.com/windows/nanoserver:ltsc2022", baseos.WINDOWS),
        ("ghcr.io/x/y:1", None),
        ("", None),
    ],
)
def test_base_families(image, family):
    assert baseos.family_of_image(image) == family


@pytest.mark.parametrize(
    ("tool", "sub", "option", "accepted"),
    [
        ("uv", "install", "--no-cache-dir", True),
        ("uv", "install", "--no-cache", True),
        ("pip", "install", "--no-cache-dir", True),
        ("apk", "install", "--no-cache", True),
        ("conda", "clean", "-afy", True),
        ("conda", "clean", "-afz", False),
        ("npm", "cache", "--force", True),
        ("busybox-wget", "", "--progress", False),
        ("wget", "", "--progress=dot:giga", True),
        ("aptitude", "install", "--no-install-recommends", False),
        ("cargo", "install", "--locked", None),
    ],
)
def test_tool_flag_table(tool, sub, option, accepted):
    assert toolflags.accepts(tool, sub, option) is accepted


def test_uv_cache_spellings_are_one_option():
    assert toolflags.spellings("uv", "--no-cache-dir") == {"--no-cache", "-n", "--no-cache-dir"}
    assert toolflags.spellings("pip", "--user") == {"--user"}


@pytest.mark.parametrize(
    ("image", "family"),
    [
        ("nvidia/cuda:${CUDA_VERSION}-devel-ubuntu24.04", baseos.DEBIAN),
        ("nvidia/cuda:${CUDA_VERSION}-runtime-amzn2023", baseos.RHEL),
        ("alpine:${ALPINE_VERSION}", baseos.ALPINE),
        ("golang:${GO_VERSION}-alpine", baseos.ALPINE),
        ("golang:${GO_VERSION}-${DEBIAN_VERSION}", None),
        ("python:${TAG}", None),
        ("${BASE_IMAGE}", None),
        ("$REPO:9.0-alpine3.24", None),
        ("ubuntu:${UBUNTU_VERSION}@sha256:${DIGEST}", baseos.DEBIAN),
    ],
)
def test_variables_in_the_tag_are_read_around(image, family):
    assert baseos.family_of_image(image) == family

"""Reports, fingerprints and baselines on hostile input: bytes that are not UTF-8, control sequences,
newlines in file names, bidi overrides; baselines that are damaged, huge, deep or not files at all;
a disk that fills up while the baseline is written."""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import stat
import threading
from pathlib import Path
from urllib.parse import unquote_to_bytes
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from dockaudit import atomic as atomic_module
from dockaudit.atomic import write_atomically as write_file_atomically
from dockaudit.linting.baseline import MAX_BASELINE_BYTES, BaselineError, read_baseline
from dockaudit.cli import cli
from dockaudit.report.output import REPORT_FORMATS
from dockaudit.report import safe_data, safe_text
from tests.conftest import FIXTURES

# Raw bytes, as a pull request can plant them: a name and content that are not UTF-8.
NON_UTF8_NAME = b"\xff.Dockerfile"
NON_UTF8_CONTENT = b"FROM debian\nMAINTAINER m\xe9\xff\nLABEL \"k\xff\"=1\nRUN echo caf\xe9\n"

# Terminal escapes (an OSC 8 hyperlink, clear screen, C1 CSI), a lone CR, a bidi override, and a newline
# (plus the characters GitHub's workflow commands and URIs treat specially) in the name.
HOSTILE_NAME = "evil\nname%,:#.Dockerfile"
HOSTILE_CONTENT = (
    "FROM debian\x1b[2J\n"
    "MAINTAINER \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \u202eabc\rxyz\n"
    'LABEL "k\x1b[2J\u202e\x9b31m"=1\n'
)
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\r", "\u202e")
# The findings that carry these names and texts are off by default: DA201 (an untagged FROM), DA012
# (MAINTAINER), DA017 (a label key), DA104 (sudo). Three per file above: DA101 no longer flags a FROM with
# no CMD (not a service image).
EXTRA = ("--extend-select", "DA012,DA017,DA104,DA201")


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def sarif_schema() -> dict:
    return json.loads((FIXTURES / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture
def non_utf8(tmp_path, monkeypatch) -> str:
    (tmp_path / os.fsdecode(NON_UTF8_NAME)).write_bytes(NON_UTF8_CONTENT)
    monkeypatch.chdir(tmp_path)
    return os.fsdecode(NON_UTF8_NAME)  # as the command line and os.walk give it: with a surrogate escape


@pytest.fixture
def hostile(tmp_path, monkeypatch) -> str:
    (tmp_path / HOSTILE_NAME).write_text(HOSTILE_CONTENT, encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    return HOSTILE_NAME


APPLIED = ("replacement", "insertedContent")  # a fix's text: kept exact (safe_data), JSON escapes it


def strings(document) -> list[str]:
    """Every key and string value in a parsed JSON document but the fix texts a tool applies."""
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [*document, *(s for key, value in document.items() if key not in APPLIED for s in strings(value))]
    if isinstance(document, list):
        return [s for value in document for s in strings(value)]
    return []


def check_document(report_format: str, output: str) -> None:
    """Each format's own notion of well-formed."""
    if report_format in ("json", "gitlab"):
        json.loads(output)
    elif report_format == "sarif":
        jsonschema.validate(json.loads(output), sarif_schema())
    elif report_format in ("junit", "checkstyle"):
        ET.fromstring(output.encode("utf-8"))


# --- item 1: a byte that is not UTF-8 ---------------------------------------------------------------


@pytest.mark.parametrize("report_format", REPORT_FORMATS)
def test_a_non_utf8_name_and_content_work_in_every_format(non_utf8, report_format):
    result = run("--format", report_format, "--exit-zero", "--no-color", *EXTRA, non_utf8)
    assert result.exit_code == 0, (result.output, result.exception)
    result.output.encode("utf-8")  # no surrogate left: the report is valid UTF-8
    check_document(report_format, result.output)
    assert "\\xff.Dockerfile" in result.output or "%FF.Dockerfile" in result.output


def test_sarif_uri_of_a_non_utf8_name_is_its_bytes_percent_encoded(non_utf8):
    document = json.loads(run("--format", "sarif", "--exit-zero", *EXTRA, non_utf8).output)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]}
    assert uris == {"%FF.Dockerfile"} and unquote_to_bytes("%FF.Dockerfile") == NON_UTF8_NAME


@pytest.mark.parametrize("target", ["file", "folder"])
def test_baseline_round_trip_with_a_non_utf8_name(non_utf8, target):
    path = non_utf8 if target == "file" else "."
    written = run("--write-baseline", "baseline.json", *EXTRA, path)
    assert written.exit_code == 1 and "Wrote 3 findings" in written.stderr, (written.output, written.exception)
    json.loads(Path("baseline.json").read_bytes().decode("utf-8"))  # strict UTF-8, plain JSON
    assert run("--baseline", "baseline.json", *EXTRA, path).exit_code == 0
    Path(non_utf8).write_bytes(NON_UTF8_CONTENT + b"RUN sudo echo \xff\n")
    newer = run("--baseline", "baseline.json", *EXTRA, path)
    assert newer.exit_code == 1 and "\\xff.Dockerfile:5:10  DA104" in newer.output
    assert "MAINTAINER is deprecated" not in newer.output


def test_fingerprints_of_utf8_files_did_not_change(tmp_path, monkeypatch):
    # The value main computed before bytes that are not UTF-8 were handled: existing baselines still match.
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nMAINTAINER José\nUSER 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    issues = json.loads(run("--format", "gitlab", "--exit-zero", *EXTRA, "Dockerfile").output)
    assert [i["fingerprint"] for i in issues] == ["97dc2a53c48a515504865b7023484b28"]


def test_names_differing_in_a_non_utf8_byte_keep_distinct_fingerprints(tmp_path, monkeypatch):
    for name in (b"\xfe.Dockerfile", b"\xff.Dockerfile"):
        (tmp_path / os.fsdecode(name)).write_bytes(NON_UTF8_CONTENT)
    monkeypatch.chdir(tmp_path)
    issues = json.loads(run("--format", "gitlab", "--exit-zero", *EXTRA, ".").output)
    assert len(issues) == 6 and len({i["fingerprint"] for i in issues}) == 6  # bytes hashed, not U+FFFD


# --- item 2: writing a baseline atomically ---------------------------------------------------------


OLD_BASELINE = b'{"version": 1, "findings": []}\n'


def _refuse(err: int):
    def fail(*args, **kwargs):
        raise OSError(err, os.strerror(err))

    return fail


@pytest.mark.parametrize(
    "step, err", [("write", errno.ENOSPC), ("fsync", errno.EIO), ("replace", errno.EXDEV), ("chmod", errno.EPERM)]
)
def test_a_failed_baseline_write_keeps_the_old_baseline_and_leaves_no_temp_file(tmp_path, monkeypatch, step, err):
    target = tmp_path / "baseline.json"
    target.write_bytes(OLD_BASELINE)
    target.chmod(0o640)
    monkeypatch.setattr(atomic_module.os, step, _refuse(err))
    with pytest.raises(OSError) as caught:
        write_file_atomically(target, b"x" * 100_000)
    monkeypatch.undo()
    assert caught.value.errno == err
    assert target.read_bytes() == OLD_BASELINE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_write_baseline_reports_a_full_disk_through_the_cli(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM debian\n")
    (tmp_path / "baseline.json").write_bytes(OLD_BASELINE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(atomic_module.os, "write", _refuse(errno.ENOSPC))
    result = run("--write-baseline", "baseline.json", "Dockerfile")
    monkeypatch.undo()
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert (tmp_path / "baseline.json").read_bytes() == OLD_BASELINE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile", "baseline.json"]


def test_atomic_write_keeps_the_mode_and_replaces_a_symlink_instead_of_following_it(tmp_path):
    kept = tmp_path / "kept.json"
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    write_file_atomically(kept, b"new")
    assert kept.read_bytes() == b"new" and stat.S_IMODE(kept.stat().st_mode) == 0o640

    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        write_file_atomically(fresh, b"new")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644

    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not yours")
    link = tmp_path / "link.json"
    link.symlink_to(elsewhere)
    write_file_atomically(link, b"new")
    assert elsewhere.read_bytes() == b"not yours" and not link.is_symlink() and link.read_bytes() == b"new"


# --- item 3: reading a baseline ---------------------------------------------------------------------


def _entry(**fields) -> bytes:
    entry = {"rule": "DA101", "path": "Dockerfile", "fingerprint": "ab" * 16, **fields}
    return json.dumps({"version": 1, "findings": [{k: v for k, v in entry.items() if v is not None}]}).encode()


HOSTILE_BASELINES = {
    "not UTF-8": (b'{"version": 1, "findings": ["\xff"]}', "not UTF-8 at byte"),
    "not JSON": (b"{version: 1}", "line 1"),
    "empty": (b"", "line 1"),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deeply nested objects": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "a huge integer": (b'{"version": ' + b"9" * 100_000 + b"}", "not a dockaudit baseline"),
    "a list": (b"[]", "not a version 1"),
    "a string": (b'"baseline"', "not a version 1"),
    "null": (b"null", "not a version 1"),
    "version 2": (b'{"version": 2, "findings": []}', "not a version 1"),
    "version as text": (b'{"version": "1", "findings": []}', "not a version 1"),
    "version true": (b'{"version": true, "findings": []}', "not a version 1"),
    "version 1.0": (b'{"version": 1.0, "findings": []}', "not a version 1"),
    "findings an object": (b'{"version": 1, "findings": {}}', "not a version 1"),
    "no findings": (b'{"version": 1}', "not a version 1"),
    "a finding that is a number": (b'{"version": 1, "findings": [1]}', "finding 1: needs"),
    "a finding that is a list": (b'{"version": 1, "findings": [["DA101", "Dockerfile", "ab"]]}', "finding 1: needs"),
    "fingerprint an int": (_entry(fingerprint=12), "finding 1: needs"),
    "path missing": (_entry(path=None), "finding 1: needs"),
    "rule a list": (_entry(rule=["DA101"]), "finding 1: needs"),
    "path an object": (_entry(path={"a": 1}), "finding 1: needs"),
}


@pytest.mark.parametrize("data, reason", HOSTILE_BASELINES.values(), ids=HOSTILE_BASELINES.keys())
def test_a_hostile_baseline_is_one_line_error(tmp_path, data, reason):
    path = tmp_path / "baseline.json"
    path.write_bytes(data)
    assert_one_line_error(path, reason)


def assert_one_line_error(path: Path, reason: str) -> None:
    with pytest.raises(BaselineError) as caught:
        read_baseline(path)
    error = caught.value
    assert str(error).startswith(f"{path}: ") and reason in str(error) and "\n" not in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is BaselineError and (copy.path, copy.reason, str(copy)) == (error.path, error.reason, str(error))


def test_a_baseline_over_the_cap_is_refused(tmp_path):
    path = tmp_path / "baseline.json"
    with path.open("wb") as out:
        out.truncate(MAX_BASELINE_BYTES + 1)  # sparse: no disk used
    assert_one_line_error(path, "file too large (over 64 MiB)")


def test_a_baseline_that_is_a_folder_or_missing_is_refused(tmp_path):
    assert_one_line_error(tmp_path, "is a directory")
    assert_one_line_error(tmp_path / "missing.json", "No such file or directory")


def test_a_fifo_baseline_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "baseline.json"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_baseline(fifo)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)  # a hang guard: the bug was blocking on open forever
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # release the blocked reader
        pytest.fail("reading a FIFO baseline blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], BaselineError)
    assert "not a regular file" in str(outcome[0])


def test_a_utf8_bom_baseline_is_read(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_bytes(b"\xef\xbb\xbf" + _entry())
    assert read_baseline(path).entries == frozenset({("DA101", "Dockerfile", "ab" * 16)})


@pytest.mark.parametrize("name", ["not UTF-8", "deeply nested", "fingerprint an int"])
def test_a_hostile_baseline_through_the_cli_is_one_line_and_exit_2(tmp_path, monkeypatch, name):
    (tmp_path / "Dockerfile").write_text("FROM debian\n")
    (tmp_path / "baseline.json").write_bytes(HOSTILE_BASELINES[name][0])
    monkeypatch.chdir(tmp_path)
    result = run("--baseline", "baseline.json", "Dockerfile")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("dockaudit: baseline.json: ") and result.stderr.count("\n") == 1


# --- items 4 and 5: control characters, newlines and bidi overrides -------------------------------


@pytest.mark.parametrize("report_format", REPORT_FORMATS)
def test_hostile_text_in_every_format(hostile, report_format):
    findings = len(json.loads(run("--format", "json", "--exit-zero", *EXTRA, hostile).output)["findings"])
    assert findings >= 3
    result = run("--format", report_format, "--exit-zero", "--no-color", *EXTRA, hostile)
    assert result.exit_code == 0, result.output
    output = result.output
    check_document(report_format, output)
    assert "evil\nname" not in output
    if report_format in ("json", "gitlab", "sarif"):  # JSON escapes C0 itself: look at the strings it holds
        assert not any(c in text for text in strings(json.loads(output)) for c in RAW_CONTROLS)
    else:
        assert not any(c in output for c in RAW_CONTROLS), [c for c in RAW_CONTROLS if c in output]
    if report_format == "text":
        assert sum(1 for line in output.splitlines() if line.startswith("evil\\nname")) == findings
        quiet = run("--format", "text", "--exit-zero", "--quiet", *EXTRA, hostile).output
        assert len(quiet.splitlines()) == findings
    if report_format == "github":
        lines = output.splitlines()
        assert len(lines) == findings and all(line.startswith("::") for line in lines)
        assert all(",file=" not in line and "file=evil\\nname%25%2C%3A#.Dockerfile," in line for line in lines)


def test_sarif_uri_of_a_hostile_name_round_trips(hostile):
    document = json.loads(run("--format", "sarif", "--exit-zero", *EXTRA, hostile).output)
    for result in document["runs"][0]["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%"
        assert unquote_to_bytes(location["uri"]) == HOSTILE_NAME.encode()
        assert re.fullmatch(r"[A-Za-z0-9._~/%-]+", location["uri"])  # only unreserved characters and escapes


def test_the_image_layer_table_escapes_history_and_file_names(tmp_path):
    from tests.test_image import config_for, tar_layer, write_oci

    config = config_for(1)
    config["history"] = [{"created_by": "/bin/sh -c \x1b]8;;http://evil.example/\x07x\x1b[2J \u202e"}]
    oci = write_oci(tmp_path / "oci", [tar_layer({"big\x1b[2J\nfile": b"x" * 10_000})], config)
    output = run("image", f"oci:{oci}", "--no-color", "--exit-zero").output
    assert not any(c in output for c in RAW_CONTROLS), [c for c in RAW_CONTROLS if c in output]
    assert "\\x1b]8;;http://evil.example/\\x07x\\x1b[2J \\u202e" in output
    assert "/big\\x1b[2J\\nfile  (layer 1)" in output


def test_text_carets_stay_under_an_escaped_span(hostile):
    output = run("--format", "text", "--exit-zero", "--no-color", *EXTRA, hostile).output.splitlines()
    frame = output.index(next(line for line in output if "DA201" in line)) + 1
    source, carets = output[frame], output[frame + 1]
    start = carets.index("^")
    assert source[start:].startswith("debian\\x1b[2J") and carets[start:] == "^" * len("debian\\x1b[2J")


def test_markdown_shows_text_as_written_not_as_markup(tmp_path, monkeypatch):
    (tmp_path / "a`b|c.Dockerfile").write_text('FROM scratch\nLABEL "<b>[l](u)&#x202e;*x*"=1\nUSER 1\n')
    monkeypatch.chdir(tmp_path)
    output = run("--format", "markdown", "--exit-zero", *EXTRA, "a`b|c.Dockerfile").output
    assert "| ``a`b\\|c.Dockerfile:2`` |" in output
    assert "\\<b\\>\\[l\\](u)\\&#x202e;\\*x\\*" in output


# --- the shared escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("plain é 中 \t tab", "plain é 中 \t tab"),
        ("\udcff\udc80", "\\xff\\x80"),
        ("a\nb\rc", "a\\nb\\rc"),
        ("\x1b]8;;u\x07", "\\x1b]8;;u\\x07"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
        ("\u202e\u2066\u200f\u2028\ufffe\uffff", "\\u202e\\u2066\\u200f\\u2028\\ufffe\\uffff"),
        ("\ud800", "\\ud800"),
    ],
)
def test_safe_text(raw, shown):
    assert safe_text(raw) == shown


def test_safe_data_escapes_only_what_utf8_cannot_hold():
    assert safe_data("a\udcff\x1b\n\u202e") == "a\\xff\x1b\n\u202e"


@given(st.text(), st.text())
def test_safe_text_is_valid_xml_and_utf8_and_escapes_character_by_character(a, b):
    shown = safe_text(a + b)
    assert shown == safe_text(a) + safe_text(b)
    shown.encode("utf-8")
    element = ET.Element("x", a=shown)
    element.text = shown
    ET.fromstring(ET.tostring(element))  # the parser, unlike the writer, enforces XML 1.0's characters
    assert not any(c in shown for c in ("\n", "\r", "\x1b", "\x9b", "\u202e"))

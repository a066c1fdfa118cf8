"""Every node carries exact spans: line, column and byte offsets of the text it came from."""

from __future__ import annotations

from dockaudit.syntax import parse


def _text(tree, span):
    return tree.source.text[span.start : span.end]


def test_flag_and_argument_spans_cross_continuations():
    text = "FROM alpine\nRUN --mount=type=cache,target=/root/.cache \\\n    pip install \\\n    torch\n"
    tree = parse(text)
    run = tree.instructions[1]
    assert _text(tree, run.flags[0].span) == "--mount=type=cache,target=/root/.cache"
    assert run.flags[0].name == "mount" and run.flags[0].value == "type=cache,target=/root/.cache"
    assert run.start_line == 2 and run.end_line == 4
    assert _text(tree, run.keyword_span) == "RUN"
    assert _text(tree, run.span).endswith("torch")


def test_positions_with_crlf_bom_tabs_and_unicode():
    data = '\ufeffFROM alpine\r\n\tLABEL name="café" other=ü\r\n'.encode()
    tree = parse(data)
    assert tree.to_bytes() == data
    label = tree.instructions[1]
    key = label.args[3]
    assert key.value == "other"
    position = tree.source.position(key.span.start)
    assert (position.line, position.column) == (2, 20)
    # byte offset counts the BOM (3 bytes), CRLF and the two-byte é
    assert data[position.offset : position.offset + 5] == b"other"


def test_heredoc_body_and_terminator_spans():
    text = "FROM alpine\nRUN <<EOF\napk add curl\nEOF\nCOPY <<-A /a\n\tx\n\tA\n"
    tree = parse(text)
    run, copy = tree.instructions[1], tree.instructions[2]
    assert _text(tree, run.heredocs[0].body_span) == "apk add curl\n"
    assert _text(tree, run.heredocs[0].terminator_span) == "EOF"
    assert copy.heredocs[0].chomp and copy.heredocs[0].text == "x\n"


def test_nodes_tile_the_file():
    text = "# syntax=docker/dockerfile:1\n\n# a comment\nFROM alpine \\\n  AS base\n   \nRUN echo hi   \n"
    tree = parse(text)
    assert tree.to_source() == text
    kinds = [type(n).__name__ for n in tree.nodes]
    assert kinds == ["Directive", "Blank", "Comment", "Instruction", "Blank", "Instruction"]


def test_onbuild_trigger_is_parsed_with_spans():
    tree = parse("FROM alpine\nONBUILD COPY --from=build /a /b\n")
    trigger = tree.instructions[1].trigger
    assert trigger.name == "COPY"
    assert _text(tree, trigger.flags[0].span) == "--from=build"
    assert [_text(tree, a.span) for a in trigger.args] == ["/a", "/b"]


def test_json_form_argument_spans():
    tree = parse('FROM alpine\nCMD ["python", "-m", "http.server"]\n')
    cmd = tree.instructions[1]
    assert cmd.json
    assert [_text(tree, a.span) for a in cmd.args] == ['"python"', '"-m"', '"http.server"']


def test_invalid_json_falls_back_to_shell_form():
    tree = parse("FROM alpine\nCMD ['python', 'app.py']\n")
    assert not tree.instructions[1].json
    assert tree.instructions[1].values == ["['python', 'app.py']"]


def test_backtick_escape():
    tree = parse("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir `\n  c:\\\n")
    assert tree.escape == "`"
    assert tree.instructions[1].original == "RUN dir   c:\\"


def test_invalid_utf8_round_trips():
    data = b"FROM alpine\nLABEL x=\xff\xfe\n"
    tree = parse(data)
    assert tree.to_bytes() == data

"""The shell view of a RUN: simple commands with their argv words and spans.

This is not a full POSIX shell parser.  It splits a script on ``&&``, ``||``,
``;``, ``|``, ``&``, newlines, subshells and braces; removes quotes; drops
assignments and redirections; and looks through wrappers (``env``, ``sudo``,
``xargs``, ``time``, ``nice``, ``sh -c '…'``) to the program really run.
Whatever it cannot follow becomes an opaque word — it never raises.
Package-manager rules read ``Command.name`` and ``Command.args``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dockaudit.records import field, record, set_field
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.source import Span
from dockaudit.patterns import lazy_pattern

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_OPERATORS = ("&&", "||", ";;", "|&", ";", "|", "&", "\n", "(", ")")
_OPERATOR_START = frozenset(o[0] for o in _OPERATORS)
_REDIRECT_PREFIX = ("<<<", "<<-", "<<", ">>", ">&", "<&", "&>>", "&>", "<>", ">|", ">", "<")
_REDIRECT_START = ("<", ">", "&")  # the first characters of _REDIRECT_PREFIX
# Runs of characters the tokenizer copies as they are (one slice instead of one step per character):
# outside quotes, anything but blanks, operators, escapes, quotes, ``$`` and backticks; inside
# double quotes, anything but the closing quote, escapes and ``$``.
_PLAIN_RUN = lazy_pattern(r"[^ \t\r\n;&|()\\'\"$`]+")
_QUOTED_RUN = lazy_pattern(r'[^"\\$]+')
_WRAPPERS_NO_ARGS = frozenset({"time", "nohup", "exec", "command", "builtin", "stdbuf", "chronic"})
_MAX_DEPTH = 8  # sh -c inside sh -c …: stop following after a few levels


@record
class ShellWord:
    value: str  # quotes removed
    raw: str  # as written
    span: Span | None  # source span, None when it cannot be placed exactly

    def __init__(self, value: str, raw: str, span: Span | None) -> None:  # written out: ~66,000 a corpus run
        set_field(self, "value", value)
        set_field(self, "raw", raw)
        set_field(self, "span", span)


@record
class Command:
    words: tuple[ShellWord, ...]  # argv from the program name on (wrappers and assignments removed)
    wrappers: tuple[str, ...] = ()  # "sudo", "env", "xargs" … that were looked through
    assignments: tuple[str, ...] = ()  # leading NAME=value words
    operator: str = ""  # the operator that ends this command: "&&", "|", ";" …
    piped: bool = False  # part of a pipeline (``a | b``)
    span: Span | None = None
    # The program's base name: ``/usr/bin/apt-get`` → ``apt-get``; set once (rules ask for it often).
    name: str = field(init=False, repr=False, compare=False)

    def __init__(self, words: tuple[ShellWord, ...], wrappers: tuple[str, ...] = (), assignments: tuple[str, ...] = (),
                 operator: str = "", piped: bool = False, span: Span | None = None) -> None:  # ~19,000 a corpus run
        set_field(self, "words", words)
        set_field(self, "wrappers", wrappers)
        set_field(self, "assignments", assignments)
        set_field(self, "operator", operator)
        set_field(self, "piped", piped)
        set_field(self, "span", span)
        set_field(self, "name", words[0].value.rsplit("/", 1)[-1] if words else "")

    @property
    def args(self) -> tuple[ShellWord, ...]:
        return self.words[1:]

    @property
    def argv(self) -> list[str]:
        return [w.value for w in self.words]

    def has_flag(self, *flags: str) -> bool:
        """True when any of ``flags`` is present: ``-y``, ``--yes``, or ``-y`` inside ``-qy``."""
        for word in self.args:
            value = word.value
            for flag in flags:
                if value == flag or (flag.startswith("--") and value.startswith(flag + "=")):
                    return True
                if len(flag) == 2 and flag[0] == "-" and flag[1] != "-":
                    if value.startswith("-") and not value.startswith("--") and flag[1] in value[1:]:
                        return True
        return False


@record(frozen=False)
class _Token:
    kind: str  # "word" or "op"
    value: str
    raw: str
    start: int
    end: int
    quoted: bool = False
    exact: bool = True  # the unquoted value maps 1:1 onto the raw text

    def __init__(self, kind: str, value: str, raw: str, start: int, end: int, quoted: bool = False,
                 exact: bool = True) -> None:  # written out: ~87,000 a corpus run
        self.kind = kind
        self.value = value
        self.raw = raw
        self.start = start
        self.end = end
        self.quoted = quoted
        self.exact = exact


@record(frozen=False)
class Script:
    """A piece of shell text plus how to map its offsets to the source."""

    text: str
    to_source: Callable[[int, int], Span | None]
    depth: int = 0
    commands: list[Command] = field(default_factory=list)

    def __init__(self, text: str, to_source: Callable[[int, int], Span | None], depth: int = 0,
                 commands: list[Command] | None = None) -> None:  # written out: one per RUN and inner script
        self.text = text
        self.to_source = to_source
        self.depth = depth
        self.commands = [] if commands is None else commands


def ends_open(script: str) -> bool:
    """Whether a shell script ends inside a quote, ``$(…)``, ``${…}``, backticks, a subshell or a
    comment: text appended to it would land inside that construct instead of running after it.
    (BuildKit joins continuation lines, so a ``#`` in the middle of a RUN comments out the rest.)"""
    closers: list[str] = []
    i, n = 0, len(script)
    while i < n:
        ch, top = script[i], closers[-1] if closers else ""
        if top == "'":
            if ch == "'":
                closers.pop()
        elif ch == "\\":
            i += 1  # the next character is escaped, inside "…" too
        elif ch == top and ch in '"`)}':
            closers.pop()
        elif script.startswith(("$(", "${"), i):
            closers.append(")" if script[i + 1] == "(" else "}")
            i += 1
        elif ch == "`" or (top != '"' and ch in "'\""):
            closers.append(ch)
        elif top not in ('"', "}") and ch == "(":
            closers.append(")")
        elif not top and ch == "#" and (i == 0 or script[i - 1] in " \t\n;&|("):
            end = script.find("\n", i)
            if end == -1:
                return True  # a comment runs to the end: appended text would be part of it
            i = end
        i += 1
    return bool(closers)


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r":
            i += 1
            continue
        if ch == "\\" and i + 1 < n and text[i + 1] == "\n":
            i += 2
            continue
        if ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None) if ch in _OPERATOR_START else None
        if op is not None:
            yield _Token("op", op, op, i, i + len(op))
            i += len(op)
            continue
        start = i
        value: list[str] = []
        quoted = False
        exact = True
        while i < n:
            plain = _PLAIN_RUN.match(text, i)
            if plain is not None:
                value.append(plain.group())
                i = plain.end()
                continue
            ch = text[i]
            if ch in " \t\r\n;&|()":
                break
            if ch == "\\":
                if i + 1 < n:
                    if text[i + 1] != "\n":
                        value.append(text[i + 1])
                    exact = False
                    i += 2
                else:
                    i += 1
                continue
            if ch == "'":
                end = text.find("'", i + 1)
                end = n if end == -1 else end
                value.append(text[i + 1 : end])
                quoted, exact = True, False
                i = end + 1
                continue
            if ch == '"':
                i += 1
                while i < n and text[i] != '"':
                    quoted_plain = _QUOTED_RUN.match(text, i)
                    if quoted_plain is not None:
                        value.append(quoted_plain.group())
                        i = quoted_plain.end()
                        continue
                    if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\$`\n':
                        if text[i + 1] != "\n":
                            value.append(text[i + 1])
                        i += 2
                        continue
                    if text.startswith("$(", i):
                        end = _matching_paren(text, i + 1)
                        value.append(text[i:end])
                        i = end
                        continue
                    value.append(text[i])
                    i += 1
                i += 1
                quoted, exact = True, False
                continue
            if text.startswith("$(", i) or text.startswith("$((", i):
                end = _matching_paren(text, i + 1)
                value.append(text[i:end])
                i = end
                continue
            if ch == "`":
                end = text.find("`", i + 1)
                end = n if end == -1 else end + 1
                value.append(text[i:end])
                i = end
                continue
            if text.startswith("${", i):
                end = _matching_brace(text, i + 1)
                value.append(text[i:end])
                i = end
                continue
            value.append(ch)
            i += 1
        if i == start:  # a lone character no rule above consumed: never loop forever
            i += 1
            continue
        raw = text[start:i]
        joined = "".join(value)
        yield _Token("word", raw if joined == raw else joined, raw, start, i, quoted, exact)  # one string when equal


def _matching_paren(text: str, open_at: int) -> int:
    """Offset just past the ``)`` that closes the ``(`` at ``open_at``."""
    depth = 0
    i = open_at
    n = len(text)
    quote = ""
    while i < n:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "\\":
            i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _is_assignment(word: _Token) -> bool:
    name, eq, _ = word.raw.partition("=")
    return bool(eq) and bool(name) and (name[0].isalpha() or name[0] == "_") and name.replace("_", "a").isalnum()


def _strip_redirections(words: list[_Token]) -> list[_Token]:
    out: list[_Token] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        raw = word.raw.lstrip("0123456789") if not word.quoted else word.raw
        redirects = not word.quoted and raw.startswith(_REDIRECT_START)
        prefix = next((p for p in _REDIRECT_PREFIX if raw.startswith(p)), None) if redirects else None
        if prefix is not None:
            if raw == prefix:
                skip_next = True  # "> file": the target is the next word
            continue
        out.append(word)
    return out


def split_commands(script: Script) -> list[Command]:
    """All simple commands of ``script``, in order, following ``sh -c`` and ``$(…)``."""
    commands: list[Command] = []
    current: list[_Token] = []
    pipeline: list[int] = []

    def flush(operator: str) -> None:
        if current:
            pipeline.append(len(commands))
            commands.extend(_commands_from_words(script, list(current), operator))
            current.clear()
        if operator != "|" and operator != "|&":
            if len(pipeline) > 1:
                for index in pipeline:
                    if index < len(commands):
                        commands[index] = _with_piped(commands[index])
            pipeline.clear()

    for token in _tokens(script.text):
        if token.kind == "op":
            flush(token.value if token.value not in "()" else ";")
        else:
            current.append(token)
            if "$(" in token.raw and script.depth < _MAX_DEPTH:
                commands.extend(_substitutions(script, token))
    flush("")
    return commands


def _with_piped(command: Command) -> Command:
    return Command(command.words, command.wrappers, command.assignments, command.operator, True, command.span)


def _substitutions(script: Script, token: _Token) -> list[Command]:
    found: list[Command] = []
    i = token.raw.find("$(")
    while i != -1:
        end = _matching_paren(token.raw, i + 1)
        inner_start = token.start + i + 2
        inner_text = token.raw[i + 2 : max(end - 1, i + 2)]
        inner = Script(inner_text, _shifted(script.to_source, inner_start), script.depth + 1)
        found.extend(split_commands(inner))
        i = token.raw.find("$(", end)
    return found


def _shifted(to_source: Callable[[int, int], Span | None], offset: int) -> Callable[[int, int], Span | None]:
    return lambda s, e: to_source(offset + s, offset + e)


# Reserved words that open or continue a compound command: what follows them is a command
# (``if apt-cache policy x; then apt-get install -y x; fi``). The closers end one and run nothing.
_COMPOUND_OPENERS = frozenset({"if", "then", "else", "elif", "while", "until", "do", "!", "{"})
_COMPOUND_CLOSERS = frozenset({"fi", "done", "}", "esac"})


def _commands_from_words(script: Script, tokens: list[_Token], operator: str) -> list[Command]:
    tokens = _strip_redirections(tokens)
    while tokens and not tokens[0].quoted and tokens[0].value in _COMPOUND_OPENERS:
        tokens = tokens[1:]
    if len(tokens) == 1 and not tokens[0].quoted and tokens[0].value in _COMPOUND_CLOSERS:
        return []
    assignments: list[str] = []
    while tokens and _is_assignment(tokens[0]):
        assignments.append(tokens.pop(0).value)
    wrappers: list[str] = []
    tokens = _unwrap(tokens, wrappers, assignments)
    if not tokens:
        return []
    words = tuple(ShellWord(t.value, t.raw, script.to_source(t.start, t.end)) for t in tokens)
    span = script.to_source(tokens[0].start, tokens[-1].end)
    command = Command(words, tuple(wrappers), tuple(assignments), operator, False, span)
    inner = _inline_script(script, command, tokens)
    return [command, *inner]


def _unwrap(tokens: list[_Token], wrappers: list[str], assignments: list[str]) -> list[_Token]:
    """Drop ``sudo -u x``, ``env A=b``, ``xargs -n1``, ``time`` … in front of the real program."""
    while tokens:
        name = tokens[0].value.rsplit("/", 1)[-1]
        if name in _WRAPPERS_NO_ARGS:
            wrappers.append(name)
            tokens = tokens[1:]
            while tokens and tokens[0].value.startswith("-"):
                tokens = tokens[1:]
        elif name == "env":
            wrappers.append(name)
            tokens = tokens[1:]
            while tokens and (tokens[0].value.startswith("-") or _is_assignment(tokens[0])):
                if _is_assignment(tokens[0]):
                    assignments.append(tokens[0].value)
                tokens = tokens[1:]
        elif name in ("sudo", "doas", "nice", "ionice", "timeout", "xargs", "su-exec", "gosu", "chroot"):
            wrappers.append(name)
            tokens = tokens[1:]
            takes_value = {
                "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"},
                "doas": {"-u", "-C"},
                "nice": {"-n"},
                "ionice": {"-c", "-n", "-p"},
                "timeout": {"-s", "-k", "--signal", "--kill-after"},
                "xargs": {"-a", "-d", "-E", "-e", "-I", "-i", "-L", "-l", "-n", "-P", "-s", "--arg-file", "--delimiter",
                          "--max-args", "--max-procs", "--max-lines", "--replace"},
            }.get(name, set())  # fmt: skip
            while tokens and tokens[0].value.startswith("-"):
                flag = tokens[0].value
                tokens = tokens[1:]
                if flag in takes_value and tokens:
                    tokens = tokens[1:]
            if name == "timeout" and tokens:
                tokens = tokens[1:]  # the duration
            if name in ("su-exec", "gosu", "chroot") and tokens:
                tokens = tokens[1:]  # the user or the new root
            while tokens and _is_assignment(tokens[0]):
                assignments.append(tokens[0].value)
                tokens = tokens[1:]
        else:
            return tokens
    return tokens


def _inline_script(script: Script, command: Command, tokens: list[_Token]) -> list[Command]:
    """``sh -c 'apt-get …'``, ``bash -euxo pipefail -c '…'``, ``su app -c '…'``: the commands in the string."""
    if (command.name not in SHELLS and command.name != "su") or script.depth >= _MAX_DEPTH:
        return []
    named = False  # the previous word was ``-o``/``-euxo``: this one is the option's name (pipefail)
    for index, token in enumerate(tokens[1:], start=1):
        value = token.value
        if named:
            named = False
            continue
        if value.startswith("-") and not value.startswith("--") and "c" in value[1:]:
            if index + 1 >= len(tokens):
                return []
            body = tokens[index + 1]
            # Place the body exactly when it is a plain quoted string; otherwise on the word.
            inner_offset = body.start + (1 if body.raw[:1] in ("'", '"') else 0)
            mapper = _shifted(script.to_source, inner_offset) if _plain_quoted(body) else _whole(script, body)
            return split_commands(Script(body.value, mapper, script.depth + 1))
        if value[:1] in ("-", "+") and value[1:2] != "-" and value[-1:] in ("o", "O") and command.name != "su":
            named = True
        elif not value.startswith(("-", "+")) and command.name != "su":
            return []  # the script file: a shell's -c comes before it (su's user name may come first)
    return []


def _plain_quoted(token: _Token) -> bool:
    raw = token.raw
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1] == token.value
    return token.raw == token.value


def _whole(script: Script, token: _Token) -> Callable[[int, int], Span | None]:
    return lambda _s, _e: script.to_source(token.start, token.end)


def _heredoc_is_script(instruction: Instruction, line_commands: list[Command]) -> bool:
    """A heredoc body is shell when RUN has no command of its own or hands stdin to a shell."""
    if not line_commands:
        return True
    first = line_commands[0]
    return first.name in SHELLS and not any(w.value == "-c" for w in first.args)


def run_commands(instruction: Instruction) -> list[Command]:
    """The simple commands a RUN (or ONBUILD RUN) executes."""
    target = instruction.trigger or instruction
    if target.name != "RUN":
        return []
    if target.json:
        return _exec_form_commands(target)
    start = target.args_range[0]
    line = Script(target.args_text, lambda s, e: target.source_span(start + s, start + e))
    commands = [c for c in split_commands(line) if not _is_heredoc_word(c)]
    commands = [_without_heredoc_words(c) for c in commands]
    commands = [c for c in commands if c.words]
    for heredoc in target.heredocs:
        if heredoc.fd == 0 and _heredoc_is_script(target, commands):
            base = heredoc.body_span.start
            body = Script(heredoc.content, lambda s, e, b=base: Span(b + s, b + e))
            commands.extend(split_commands(body))
    return commands


def start_commands(instruction: Instruction) -> list[Command]:
    """The commands a CMD or ENTRYPOINT starts (shell or exec form)."""
    target = instruction.trigger or instruction
    if target.name not in ("CMD", "ENTRYPOINT"):
        return []
    if target.json:
        return _exec_form_commands(target)
    start = target.args_range[0]
    return split_commands(Script(target.args_text, lambda s, e: target.source_span(start + s, start + e)))


def _is_heredoc_word(command: Command) -> bool:
    return len(command.words) == 1 and command.words[0].raw.lstrip("0123456789").startswith("<<")


def _without_heredoc_words(command: Command) -> Command:
    words = tuple(w for w in command.words if not w.raw.lstrip("0123456789").startswith("<<"))
    if len(words) == len(command.words):
        return command
    return Command(words, command.wrappers, command.assignments, command.operator, command.piped, command.span)


def _exec_form_commands(instruction: Instruction) -> list[Command]:
    args = instruction.args
    if not args:
        return []
    words = tuple(ShellWord(a.value, a.value, a.span) for a in args)
    command = Command(words, span=Span(args[0].span.start, args[-1].span.end))
    if command.name in SHELLS:
        for index, word in enumerate(words[1:], start=1):
            if word.value.startswith("-") and "c" in word.value[1:] and index + 1 < len(words):
                body = words[index + 1]
                span = body.span
                exact = span is not None and len(span) == len(body.value) + 2
                mapper = (lambda s, e, b=span.start + 1: Span(b + s, b + e)) if exact else (lambda s, e, sp=span: sp)
                return [command, *split_commands(Script(body.value, mapper, 1))]
    return [command]

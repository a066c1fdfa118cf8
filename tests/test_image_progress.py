"""The progress bar of `dockaudit image`: on a terminal only (here a fake one), never in CI or in
captured output, shown only once an image has taken a while, and gone when the image is read."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.image import progress as progress_module
from dockaudit.image.audit import read_image
from dockaudit.image.progress import TerminalProgress, progress_for
from dockaudit.image.sources import open_source
from tests.test_image import tar_layer, write_docker_archive


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")  # as a real stream says
        return True


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def archive(tmp_path):
    layers = [tar_layer({"app/main.py": b"print(1)\n"}), tar_layer({"app/data.bin": b"d" * 3000})]
    config = {"architecture": "amd64", "os": "linux", "config": {"User": "1"},
              "history": [{"created_by": "COPY main.py /app/"}, {"created_by": "COPY data.bin /app/"}],
              "rootfs": {"type": "layers", "diff_ids": []}}  # fmt: skip
    write_docker_archive(tmp_path / "app.tar", layers, config)
    return f"docker-archive:{tmp_path / 'app.tar'}"


def _read(source: str, progress) -> None:
    with open_source(source, "linux/amd64", False, False) as images:
        for image in images:
            read_image(image, None, progress)


class Recorder:
    """What read_image tells a progress display, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, name, layers):
        self.calls.append(("start", layers))

    def update(self, layer, unpacked):
        self.calls.append(("update", layer, unpacked))

    def finish(self):
        self.calls.append(("finish",))


def test_read_image_reports_each_layer_and_the_bytes_so_far(archive):
    recorder = Recorder()
    _read(archive, recorder)
    assert recorder.calls == [("start", 2), ("update", 0, 0), ("update", 1, 9), ("finish",)]


def test_the_bar_shows_the_layer_and_the_bytes_and_is_erased_at_the_end(archive):
    terminal, clock = FakeTerminal(), Clock()
    bar = TerminalProgress(terminal, delay=0.5, clock=clock)
    bar.start("app", 3)
    clock.now += 1
    bar.update(1, 5 * 1024**2)
    shown = terminal.getvalue()
    assert "app" in shown and "layer 2/3  5.0 MiB" in shown
    bar.finish()
    assert terminal.getvalue().endswith("\x1b[1A\x1b[2K")  # transient: the bar's line is cleared at the end


def test_a_quick_image_shows_no_bar(archive):
    terminal, clock = FakeTerminal(), Clock()  # the clock never reaches the delay
    _read(archive, TerminalProgress(terminal, delay=0.5, clock=clock))
    assert terminal.getvalue() == ""


def test_no_bar_off_a_terminal_in_ci_or_on_a_dumb_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(progress_for(FakeTerminal()), TerminalProgress)
    assert progress_for(io.StringIO()) is None
    closed = FakeTerminal()
    closed.close()
    assert progress_for(closed) is None
    monkeypatch.setenv("TERM", "dumb")
    assert progress_for(FakeTerminal()) is None
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("CI", "true")
    assert progress_for(FakeTerminal()) is None


def test_the_image_command_draws_on_a_terminal_and_not_into_captured_output(archive, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    captured = CliRunner().invoke(cli, ["image", archive, "--quiet"])
    assert "layer 1/2" not in captured.output and "\x1b[" not in captured.output
    terminal = FakeTerminal()
    monkeypatch.setattr(progress_module, "progress_for", lambda stream: TerminalProgress(terminal, delay=0))
    CliRunner().invoke(cli, ["image", archive, "--quiet"])
    assert "layer 2/2" in terminal.getvalue()

"""The one bounded reader every planted file goes through (``dockaudit.files.read_regular_file``)."""

from __future__ import annotations

import os
import pickle
import socket
import threading
from pathlib import Path

import pytest

from dockaudit.files import InputError, read_regular_file


def test_reads_a_regular_file(tmp_path: Path):
    (tmp_path / "f").write_bytes(b"FROM x\n")
    assert read_regular_file(tmp_path / "f", 100) == b"FROM x\n"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path):
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    done: list[BaseException] = []

    def attempt():
        try:
            read_regular_file(fifo, 100)
        except InputError as error:
            done.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60)  # a hang guard: the open is non-blocking, so this returns at once
    assert done and "not a regular file" in str(done[0])


def test_a_device_is_refused_before_reading():
    with pytest.raises(InputError, match="not a regular file"):
        read_regular_file("/dev/zero", 100)


def test_a_socket_is_refused(tmp_path: Path):
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        with pytest.raises(InputError):
            read_regular_file(path, 100)
    finally:
        server.close()


def test_a_directory_and_a_missing_file_and_a_nul_path(tmp_path: Path):
    with pytest.raises(InputError, match="is a directory"):
        read_regular_file(tmp_path, 100)
    with pytest.raises(InputError, match="No such file"):
        read_regular_file(tmp_path / "missing", 100)
    with pytest.raises(InputError):
        read_regular_file(str(tmp_path / "a\0b"), 100)


def test_over_the_cap_is_refused_not_truncated(tmp_path: Path):
    (tmp_path / "big").write_bytes(b"x" * 2048)
    with pytest.raises(InputError, match=r"file too large \(over 1 KiB\)"):
        read_regular_file(tmp_path / "big", 1024)
    assert read_regular_file(tmp_path / "big", 2048) == b"x" * 2048


def test_the_label_names_the_file_in_the_error(tmp_path: Path):
    with pytest.raises(InputError) as caught:
        read_regular_file(tmp_path / "missing", 10, label="compose.yaml")
    assert str(caught.value).startswith("compose.yaml: ")


def test_input_error_pickles():
    error = InputError("a/Dockerfile", "binary file")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.path, again.reason, str(again)) == (InputError, error.path, error.reason, str(error))


def test_every_yaml_goes_through_the_bomb_guard():
    from dockaudit.yamlguard import YamlRefused, load_yaml

    assert load_yaml("ignored: [DL3008]\n") == {"ignored": ["DL3008"]}
    laughs = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    with pytest.raises(YamlRefused, match="YAML bomb"):
        load_yaml(laughs)
    with pytest.raises(YamlRefused, match="nested too deeply"):
        load_yaml("[" * 50_000)
    with pytest.raises(YamlRefused, match="not valid YAML: line 1"):
        load_yaml("a: : b\n")

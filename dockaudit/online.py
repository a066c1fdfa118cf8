"""Facts from the network, only with ``--online``: a tag's digest, and the version tag behind ``latest``.

Answers are cached under the user's cache directory for a day; every request has a timeout (the
registry client's). Nothing here runs unless the user asked for it.
"""

from __future__ import annotations

import json
import re
import time

from dockaudit.cache import read_cache_file, write_cache_file


CACHE_FILE = "online.json"
TTL = 24 * 3600
MAX_TAG_PROBES = 30  # digests fetched while looking for the version tag behind latest


def _cached(key: str, compute) -> str | None:
    try:
        cache = json.loads(read_cache_file(CACHE_FILE) or b"{}")
    except ValueError:
        cache = {}
    entry = cache.get(key)
    if entry and time.time() - entry.get("at", 0) < TTL:
        return entry.get("value")
    from dockaudit.image.sources import ImageSourceError  # the registry stack loads only when asked

    try:
        value = compute()
    except ImageSourceError:
        return None  # offline, unknown image, no access: no fix rather than a guess
    cache[key] = {"value": value, "at": time.time()}
    write_cache_file(CACHE_FILE, json.dumps(cache).encode())
    return value


def _client(image: str):
    from dockaudit.image.registry import RegistryClient, parse_reference

    ref = parse_reference(image)
    local = ref.host.startswith(("127.0.0.1", "localhost"))  # local registries speak plain HTTP, as docker allows
    return RegistryClient(ref, insecure=local), ref.reference


def tag_digest(image: str) -> str | None:
    """``python:3.12-slim`` → ``sha256:…`` of the manifest (list) it names today."""

    def compute() -> str:
        client, reference = _client(image)
        return client.digest_of(reference)

    return _cached(f"digest:{image}", compute)


def _version_key(tag: str) -> tuple:
    numbers = tuple(int(n) for n in re.findall(r"\d+", tag.split("-", 1)[0]))
    return (numbers, tag.count("."), len(tag))


def version_tag(image: str) -> str | None:
    """The most specific version tag with the same digest as ``image`` (``…:latest`` or untagged)."""

    def compute() -> str | None:
        client, reference = _client(image)
        target = client.digest_of(reference)
        candidates = [t for t in client.tags() if re.match(r"^v?\d+(?:\.\d+)*(?:-[\w.]+)?$", t)]
        for tag in sorted(candidates, key=_version_key, reverse=True)[:MAX_TAG_PROBES]:
            if client.digest_of(tag) == target:
                return tag
        return None

    name = image.split("@")[0]
    return _cached(f"version:{name}", compute)

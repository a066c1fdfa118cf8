"""Facts from the network, only with ``--online``: a tag's digest, and the version tag behind ``latest``.

Answers are cached under the user's cache directory for a day; every request has the registry client's
deadline, each lookup (a digest, or the tag search behind ``latest``) one for all of its requests, and
all lookups of a process together ``RUN_SECONDS``: past it, rules get no answer (no fix), never a wait.
Nothing here runs unless the user asked for it.
"""

from __future__ import annotations

import json
import re
import time

from dockaudit.facts.cache import read_cache_file, write_cache_file
from dockaudit.facts.versions import version_numbers

CACHE_FILE = "online.json"
TTL = 24 * 3600
MAX_TAG_PROBES = 30  # digests fetched while looking for the version tag behind latest
LOOKUP_SECONDS = 60.0  # one lookup, all its requests together: a lint run must not wait on a slow registry
RUN_SECONDS = 180.0  # every lookup of one process together: 30 FROM lines must not add up to 30 minutes


class _RunBudget:
    """What is left of ``RUN_SECONDS`` in this process; it starts with the first lookup."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends: float | None = None

    def restart(self) -> None:
        """A new run begins (the CLI calls this; a long-lived process such as a server, per request)."""
        self.ends = None

    def for_lookup(self, wanted: float) -> float:
        """Seconds the next lookup may take (0: the run's budget is spent, ask nothing)."""
        now = time.monotonic()
        if self.ends is None:
            self.ends = now + self.seconds
        return max(0.0, min(wanted, self.ends - now))


BUDGET = _RunBudget(RUN_SECONDS)


def _cached(key: str, compute) -> str | None:
    try:
        cache = json.loads(read_cache_file(CACHE_FILE) or b"{}")
    except (ValueError, RecursionError):
        cache = {}
    if not isinstance(cache, dict):  # a damaged cache is only a cache miss
        cache = {}
    entry = cache.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("at"), (int, float)) and time.time() - entry["at"] < TTL:
        value = entry.get("value")
        return value if isinstance(value, str) else None
    from dockaudit.image.sources import ImageSourceError  # the registry stack loads only when asked

    try:
        value = compute()
        if value is _OUT_OF_TIME:
            return None  # not cached: a later run with time left may find it
    except ImageSourceError:
        return None  # offline, unknown image, no access: no fix rather than a guess
    cache[key] = {"value": value, "at": time.time()}
    write_cache_file(CACHE_FILE, json.dumps(cache).encode())
    return value


_OUT_OF_TIME = object()


def _client(image: str, seconds: float):
    from dockaudit.image.registry import RegistryClient, parse_reference

    ref = parse_reference(image)
    local = ref.host.startswith(("127.0.0.1", "localhost"))  # local registries speak plain HTTP, as docker allows
    return RegistryClient(ref, insecure=local, operation_seconds=seconds), ref.reference


def tag_digest(image: str, seconds: float = LOOKUP_SECONDS) -> str | None:
    """``python:3.12-slim`` → ``sha256:…`` of the manifest (list) it names today; None when the
    registry does not answer within ``seconds``."""

    def compute():
        allowed = BUDGET.for_lookup(seconds)
        if not allowed:
            return _OUT_OF_TIME
        client, reference = _client(image, allowed)
        return client.digest_of(reference)

    return _cached(f"digest:{image}", compute)


def _version_key(tag: str) -> tuple:
    numbers = version_numbers(tag.split("-", 1)[0])
    return (numbers, tag.count("."), len(tag))


def version_tag(image: str, seconds: float = LOOKUP_SECONDS) -> str | None:
    """The most specific version tag with the same digest as ``image`` (``…:latest`` or untagged); None
    when there is none or the registry does not answer within ``seconds``."""

    def compute():
        allowed = BUDGET.for_lookup(seconds)
        if not allowed:
            return _OUT_OF_TIME
        client, reference = _client(image, allowed)
        target = client.digest_of(reference)
        candidates = [t for t in client.tags() if re.match(r"^v?\d+(?:\.\d+)*(?:-[\w.]+)?$", t)]
        for tag in sorted(candidates, key=_version_key, reverse=True)[:MAX_TAG_PROBES]:
            if client.digest_of(tag) == target:
                return tag
        return None

    name = image.split("@")[0]
    return _cached(f"version:{name}", compute)

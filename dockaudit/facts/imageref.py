"""Image references as docker reads them: ``[registry/]name[:tag][@digest]``."""

from __future__ import annotations

from dockaudit.records import record

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


@record
class ImageRef:
    registry: str  # "docker.io" when none is written
    name: str  # "library/python" for official images on Docker Hub
    tag: str | None
    digest: str | None  # "sha256:…"
    explicit_registry: bool  # the registry was written in the reference

    @property
    def short_name(self) -> str:
        """``python`` for ``docker.io/library/python``; the name as users write it."""
        if self.registry == DOCKER_HUB and self.name.startswith("library/"):
            return self.name[len("library/") :]
        return self.name

    @property
    def repository(self) -> str:
        """The name without ``library/`` prefixed by the registry when one was written."""
        return f"{self.registry}/{self.short_name}" if self.explicit_registry else self.short_name

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef | None:
    """Parse a reference; None for text that is not one (empty, spaces, unresolved ``$VAR``, a
    ``<placeholder>`` a build system fills in)."""
    text = text.strip()
    if not text or "$" in text or any(c.isspace() or c in "<>" for c in text) or text.startswith(("/", ".", ":", "@")):
        return None
    rest, _, digest = text.partition("@")
    first, slash, remainder = rest.partition("/")
    explicit = bool(slash) and ("." in first or ":" in first or first == "localhost" or first != first.lower())
    if explicit:
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    tag = None
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
    if not path or (tag is not None and not tag):
        return None
    if registry.lower() in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return ImageRef(registry, path, tag, digest or None, explicit)


def registry_matches(registry: str, pattern: str) -> bool:
    """``trusted-registries`` entries: exact hosts, ``*.example.com`` subdomains, or ``*``."""
    registry, pattern = registry.lower(), pattern.lower().rstrip("/")
    if pattern == "*":
        return True
    if pattern in _HUB_ALIASES:
        pattern = DOCKER_HUB
    if pattern.startswith("*."):
        return registry.endswith(pattern[1:])
    return registry == pattern

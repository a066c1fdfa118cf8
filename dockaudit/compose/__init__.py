"""Compose files: the project as ``docker compose`` reads it (``project``), and linting it (``lint``)."""

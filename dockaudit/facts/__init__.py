"""The views rules share beyond the tree: the build context (copies, .dockerignore, requirement and
conda files), package installs and what a RUN cleans after them, image references, the base's OS,
users, what looks like a secret, version numbers, ML facts per stage, and the knowledge tables
(``facts/knowledge/``).  Computed on demand and cached on the ``LintContext``; rules reach the
file system, the network and subprocesses only through the context."""

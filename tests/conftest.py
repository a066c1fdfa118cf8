from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Tests never read or write the user's cache (~/.cache/dockaudit); subprocesses inherit this too.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="dockaudit-test-cache-")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = REPO / "fixtures"

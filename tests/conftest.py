from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = REPO / "fixtures"


def need_shared(path: Path) -> Path:
    """``../shared`` sits beside the clone in CI and on developer machines."""
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared beside the checkout)")
    return path

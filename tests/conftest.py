from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
REFERENCE = SHARED / "reference"

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def reference_file(*parts: str) -> Path:
    """A file of ../shared/reference, or skip the test cleanly when it is not beside the repo."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """Point every EDU_* location at tmp_path so a test never touches the repo's warehouse."""
    monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDU_LANDING_DIR", str(tmp_path / "landing"))
    return tmp_path

"""dbt's per-command target folders are pruned to the newest few (lib/transform/invocations.py)."""

from __future__ import annotations

import os
import time

from orchestration.lib.transform import invocations


def test_only_the_newest_invocation_folders_of_the_op_stay(tmp_path):
    for age, name in enumerate(["dbt_models-aaaaaaa-1", "dbt_models-bbbbbbb-2", "dbt_models-ccccccc-3"]):
        folder = tmp_path / name
        (folder / "compiled").mkdir(parents=True)
        (folder / "manifest.json").write_text("{}", encoding="utf-8")
        os.utime(folder, (1_000_000 + age, 1_000_000 + age))
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")  # the parsed project: not a build's
    (tmp_path / "dbt_docs-0000000-1").mkdir()  # another op's folder
    (tmp_path / "dbt_models-notafolder").write_text("", encoding="utf-8")

    removed = invocations.prune(tmp_path, "dbt_models", keep=2)

    assert removed == [tmp_path / "dbt_models-aaaaaaa-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_docs-0000000-1",
        "dbt_models-bbbbbbb-2",
        "dbt_models-ccccccc-3",
        "dbt_models-notafolder",
        "manifest.json",
    ]
    assert invocations.prune(tmp_path, "dbt_models", keep=2) == []


def test_a_recent_folder_is_kept_whatever_its_rank(tmp_path):
    """Another warehouse's run may still read its build's folder (its dbt docs step): an hour's grace."""
    now = time.time()
    for n, age in enumerate([30, 7200, 60]):  # seconds ago
        folder = tmp_path / f"dbt_models-{n:07d}-x"
        folder.mkdir()
        os.utime(folder, (now - age, now - age))
    removed = invocations.prune(tmp_path, "dbt_models", keep=1)
    assert removed == [tmp_path / "dbt_models-0000001-x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dbt_models-0000000-x", "dbt_models-0000002-x"]

"""dagster-dbt gives every dbt command its own target folder, ``dbt_project/target/<op>-<run>-<id>``
(manifest, run results, compiled SQL, dbt's log: about 20 MB on the sample). They are kept for
looking into a recent build, and pruned so a pipeline run every term, or a developer's hundred
runs, does not fill the disk with them."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

KEEP = 5  # the newest folders of an op kept: the current build's and the few before it
# dbt_project/target is shared by every warehouse folder (each its own run lock): a folder younger
# than this may be a build whose run still reads it (its dbt docs step reads the build's manifest).
MIN_AGE_SECONDS = 3600


def prune(target_dir: Path, op_name: str, keep: int = KEEP, min_age_seconds: float = MIN_AGE_SECONDS) -> list[Path]:
    """Remove all but the ``keep`` newest ``<op_name>-*`` invocation folders in ``target_dir``,
    sparing any modified in the last ``min_age_seconds``; the removed folders."""
    cutoff = time.time() - min_age_seconds
    folders = []
    for path in target_dir.glob(f"{op_name}-*"):
        try:
            if path.is_dir() and not path.is_symlink():
                folders.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # another process pruned it first
            continue
    folders.sort(reverse=True)
    removed = []
    for modified, path in folders[keep:]:
        if modified > cutoff:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed

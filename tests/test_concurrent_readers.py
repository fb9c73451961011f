"""BI readers querying the published database while publications swap never see an error or a
mixed state: every read sees one whole publication."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.publish.warehouse import publish

pytestmark = pytest.mark.slow  # readers and swaps for 8 s in spawned processes

ROWS = 2000


def _make_build(path: Path, generation: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            f"CREATE TABLE marts.fct AS SELECT range AS id, {generation}::INTEGER AS generation FROM range({ROWS})"
        )
        con.execute(f"CREATE TABLE marts.dim AS SELECT {generation}::INTEGER AS generation")


def _reader(served: str, stop_at: float, queue) -> None:
    reads, errors, mixed = 0, [], 0
    while time.time() < stop_at:
        try:
            with duckdb.connect(served, read_only=True) as con:
                low, high, count = con.execute(
                    "SELECT min(generation), max(generation), count(*) FROM marts.fct"
                ).fetchone()
                (dim,) = con.execute("SELECT generation FROM marts.dim").fetchone()
                (latest,) = con.execute(
                    "SELECT publication_id FROM audit.publications ORDER BY published_at DESC LIMIT 1"
                ).fetchone()
            if not (low == high == dim and count == ROWS and latest.startswith(f"gen-{dim}-")):
                mixed += 1
            reads += 1
        except Exception as exc:  # any error at all is a failure of the swap
            errors.append(repr(exc))
    queue.put((reads, errors[:5], len(errors), mixed))


def test_readers_never_see_errors_or_mixed_publications(tmp_path):
    served = tmp_path / "warehouse" / "education.duckdb"
    builds = []
    for generation in range(2):
        builds.append(tmp_path / f"build{generation}.duckdb")
        _make_build(builds[-1], generation)
    publish(builds[0], served, "gen-0-start", [], [])

    queue = mp.get_context("spawn").Queue()
    stop_at = time.time() + 8
    readers = [mp.get_context("spawn").Process(target=_reader, args=(str(served), stop_at, queue)) for _ in range(2)]
    for reader in readers:
        reader.start()
    swaps = 0
    while time.time() < stop_at - 0.5:
        generation = (swaps + 1) % 2
        publish(builds[generation], served, f"gen-{generation}-{swaps}", [], [])
        swaps += 1
    results = [queue.get(timeout=60) for _ in readers]
    for reader in readers:
        reader.join(timeout=60)

    total_reads = sum(r[0] for r in results)
    print(f"{swaps} swaps, {total_reads} reads, errors {[r[2] for r in results]}, mixed {[r[3] for r in results]}")
    assert swaps >= 5 and total_reads >= 50
    assert [r[2] for r in results] == [0, 0], [r[1] for r in results]
    assert [r[3] for r in results] == [0, 0]

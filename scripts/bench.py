"""Benchmark: wall time and peak memory of a full build (land, gates, dbt, publish).

``make bench``: the bundled sample, as ``make run`` builds it (BENCH_RUNS=3 for more runs), with
where each run's time went, stage by stage, from the run's own Dagster event log: start-up, ingest,
raw gates, dbt, mart gates, publication, and the outputs with their checks. The figure issue
"One dataset registry; ingest and gates at DuckDB speed" set a target for (``make run`` on the
sample under 40 s) is the wall time; the part up to the publication is printed beside it. In fresh
folders the start-up includes dbt's parse and a new Dagster run history, as on a first run.

``make bench-scale`` (BENCH_SCALE_ROWS=250000,1000000): the sample with its KS2 and KS4 timeseries
files grown to that many rows each by characteristic rows (a synthetic breakdown of the headline
rows, as DfE's characteristics files have), built without the outputs. It prints, per size, the
wall time and peak RSS the extra rows cost over the unscaled build, against what DuckDB alone
takes to scan, unpivot and rank the same grown files, and the cost per extra row (linear when it
stays flat). Targets (issue "One dataset registry; ingest and gates at DuckDB speed"): extra time
at most 3x DuckDB's, peak RSS under 2 GiB at 1,000,000 rows per file.

Every build runs ``python -m orchestration.cli run`` in a child process against throwaway folders,
so the repo's own warehouse is untouched; it prints figures and asserts nothing.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
GROWN = {"ks2": "raw/sample/ks2/ks2_la_timeseries.csv", "ks4": "raw/sample/ks4/ks4_la_timeseries.csv"}
TARGET_RATIO = 3.0
TARGET_RSS_MIB = 2048
TARGET_RUN_SECONDS = 40  # `make run` on the sample, after install (the same issue)


def build(
    workdir: Path, sources: Path | None = None, outputs: bool = True, stage_times: list | None = None
) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of the largest process, fct_la_measure rows) of one build;
    its stages (:func:`stages`) are appended to ``stage_times`` when given."""
    env = dict(os.environ)
    env.update(
        EDU_WAREHOUSE_DIR=str(workdir / "warehouse"),
        EDU_LANDING_DIR=str(workdir / "landing"),
        DAGSTER_HOME=str(workdir / "dagster_home"),
        EDU_RUN_OUTPUTS="1" if outputs else "0",
    )
    if sources is not None:
        env["EDU_SOURCES"] = str(sources)
        # the grown files sit beside the rewritten sources.yml; the rest of the sample stays in the repo
        env["EDU_SOURCE_DIRS"] = str(REPO_ROOT / "raw")
    env.pop("EDU_BUILD_DB", None)
    # The child reports its own descendants' peak, so sizes measured one after another do not mix.
    probe = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
    )
    started, launched = time.perf_counter(), time.time()
    completed = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "orchestration.cli", "run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed, exited = time.perf_counter() - started, time.time()
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"benchmark build failed with exit code {completed.returncode}")
    if stage_times is not None:
        stage_times.extend(stages(workdir / "dagster_home", launched, exited))
    peak_kib = int(next(line.split()[1] for line in completed.stdout.splitlines() if line.startswith("PEAK_KIB")))
    with duckdb.connect(str(workdir / "warehouse" / "education.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM marts.fct_la_measure").fetchall()[0][0]
    return elapsed, peak_kib / 1024, rows


def _stage_of(step_key: str, checked: dict[str, str], materialized: dict[str, str]) -> str:
    """A step's stage: an asset step by the asset it writes (dbt's step also evaluates dbt's tests),
    a check step by the layer it gates."""
    if step_key not in materialized and step_key in checked:
        return {"raw": "raw gates", "marts": "mart gates", "outputs": "output checks"}.get(
            checked[step_key], f"{checked[step_key]} checks"
        )
    layer, _, name = materialized.get(step_key, step_key).partition("/")
    if layer == "raw":
        return "ingest"
    if layer == "warehouse":
        return "publish"
    if layer == "outputs":  # a step writing several outputs by its own name (outputs)
        return name if step_key.endswith(name) else step_key
    return "dbt" if layer in ("reference", "staging", "intermediate", "marts") else step_key


def stages(dagster_home: Path, launched: float, exited: float) -> list[tuple[str, float]]:
    """(stage, seconds) in run order, from the one run in ``dagster_home``: the steps' own times
    grouped by stage, with start-up (process launch to the first step: imports, the dbt manifest
    check, Dagster's run start) and the end (last step to process exit: the closing summary).
    ``launched`` and ``exited`` are epoch seconds."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    [run] = instance.get_runs(limit=1)
    records = instance.all_logs(run.run_id)
    checked: dict[str, str] = {}
    materialized: dict[str, str] = {}
    for record in records:
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            checked[record.step_key] = event.asset_check_evaluation_data.asset_key.path[0]
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialized.setdefault(record.step_key, event.asset_key.to_user_string())
    spans: dict[str, float] = {}
    started: dict[str, float] = {}
    first = last = None
    for record in records:
        kind = record.dagster_event.event_type_value if record.dagster_event else None
        if kind == "STEP_START":
            started[record.step_key] = record.timestamp
            first = record.timestamp if first is None else first
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and record.step_key in started:
            stage = _stage_of(record.step_key, checked, materialized)
            spans[stage] = spans.get(stage, 0.0) + record.timestamp - started.pop(record.step_key)
            last = record.timestamp
    if first is None or last is None:
        return []
    return [("start-up", first - launched), *spans.items(), ("summary", exited - last)]


def grow(source: Path, target: Path, rows: int) -> int:
    """Copy ``source`` and append characteristic rows (breakdown 'Bench group k' under topic
    'Bench characteristic') made from its headline rows until it has ``rows`` data rows."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        original = list(reader)
    topic, breakdown = header.index("breakdown_topic"), header.index("breakdown")
    headline = [r for r in original if r[topic] == "Total" and r[breakdown] == "Total"]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(original)
        written, group = len(original), 0
        while written < rows:
            group += 1
            for row in headline[: rows - written]:
                extra = list(row)
                extra[topic], extra[breakdown] = "Bench characteristic", f"Bench group {group}"
                writer.writerow(extra)
            written += min(len(headline), rows - written)
    return written


def scaled_sources(workdir: Path, rows: int) -> tuple[Path, dict[str, Path]]:
    """A sources.yml listing the sample with the grown KS2 and KS4 files in place of the originals."""
    config = yaml.safe_load((REPO_ROOT / "sources.yml").read_text(encoding="utf-8"))
    grown: dict[str, Path] = {}
    for dataset, entry in config["datasets"].items():
        files = []
        for item in entry["files"]:
            path = item if isinstance(item, str) else item["path"]
            absolute = REPO_ROOT / path
            if GROWN.get(dataset) == path:
                target = workdir / "grown" / absolute.name
                target.parent.mkdir(parents=True, exist_ok=True)
                grow(absolute, target, rows)
                meta = absolute.with_suffix(".meta.csv")
                if meta.exists():
                    target.with_suffix(".meta.csv").write_bytes(meta.read_bytes())
                grown[dataset] = absolute = target
            files.append(str(absolute) if isinstance(item, str) else {**item, "path": str(absolute)})
        entry["files"] = files
    for entry in (config.get("local") or {}).values():  # the council's datasets, from where they are
        entry["schema"] = str(REPO_ROOT / entry["schema"])
        entry["files"] = [
            str(REPO_ROOT / f) if isinstance(f, str) else {**f, "path": str(REPO_ROOT / f["path"])}
            for f in entry["files"]
        ]
    sources = workdir / "sources.yml"
    sources.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return sources, grown


def duckdb_reference(files: dict[str, Path]) -> float:
    """Seconds DuckDB alone takes to scan, unpivot and rank the grown files (all cells as text,
    as the ingest reads them; ranked within period x indicator x breakdown)."""
    started = time.perf_counter()
    con = duckdb.connect()
    for path in files.values():
        with path.open(encoding="utf-8") as handle:
            header = handle.readline().strip().split(",")
        indicators = ", ".join(f'"{c}"' for c in header if c.startswith(("t_", "pt_", "avg_")))
        con.execute(
            f"""SELECT count(*), max(r) FROM (
                    SELECT rank() OVER (PARTITION BY time_period, indicator, breakdown ORDER BY TRY_CAST(v AS DOUBLE)) AS r
                    FROM (UNPIVOT (SELECT * FROM read_csv(?, all_varchar = true)) ON {indicators} INTO NAME indicator VALUE v))""",
            [str(path)],
        ).fetchall()
    con.close()
    return time.perf_counter() - started


def scale(sizes: list[int]) -> None:
    print(
        f"scale benchmark: KS2 and KS4 timeseries grown to {', '.join(f'{s:,}' for s in sizes)} rows per file "
        f"({os.cpu_count()} cores; builds without outputs)"
    )
    with tempfile.TemporaryDirectory(prefix="edu-bench-") as tmp:
        base_wall, base_rss, base_rows = build(Path(tmp) / "base", outputs=False)
    print(
        f"unscaled sample: wall {base_wall:6.1f} s | peak RSS {base_rss:7.1f} MiB | fct_la_measure {base_rows:,} rows"
    )
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="edu-bench-") as tmp:
            workdir = Path(tmp)
            sources, grown = scaled_sources(workdir, size)
            added = sum(sum(1 for _ in path.open(encoding="utf-8")) - 1 for path in grown.values()) - sum(
                sum(1 for _ in (REPO_ROOT / GROWN[d]).open(encoding="utf-8")) - 1 for d in grown
            )
            reference = duckdb_reference(grown)
            wall, rss, rows = build(workdir / "run", sources, outputs=False)
        extra = wall - base_wall
        ratio = extra / reference if reference else float("inf")
        results.append(
            {
                "rows_per_file": size,
                "extra_rows": added,
                "wall_s": round(wall, 1),
                "extra_s": round(extra, 1),
                "duckdb_s": round(reference, 2),
                "ratio": round(ratio, 2),
                "peak_rss_mib": round(rss),
                "fct_rows": rows,
                "us_per_extra_row": round(extra / added * 1e6, 2) if added else None,
            }
        )
        verdict = "ok" if ratio <= TARGET_RATIO and (size < 1_000_000 or rss < TARGET_RSS_MIB) else "OVER TARGET"
        print(
            f"{size:>9,} rows/file (+{added:,} rows): wall {wall:6.1f} s, extra {extra:6.1f} s = {ratio:4.1f}x DuckDB's "
            f"{reference:5.1f} s | peak RSS {rss:7.1f} MiB | {extra / added * 1e6 if added else 0:5.1f} us per extra row"
            f" | fct_la_measure {rows:,} rows{' (unchanged)' if rows == base_rows else ' (CHANGED)'} | {verdict}"
        )
    print(
        "json: "
        + json.dumps({"base_wall_s": round(base_wall, 1), "base_peak_rss_mib": round(base_rss), "sizes": results})
    )


def main() -> None:
    if "--scale" in sys.argv[1:]:
        sizes = [
            int(s.replace("_", ""))
            for s in os.environ.get("BENCH_SCALE_ROWS", "250000,1000000").split(",")
            if s.strip()
        ]
        scale(sizes)
        return
    runs = int(os.environ.get("BENCH_RUNS", "1"))
    print(f"full build on the sample ({runs} run(s), in-process executor, {os.cpu_count()} cores)")
    for index in range(runs):
        with tempfile.TemporaryDirectory(prefix="edu-bench-") as tmp:
            times: list[tuple[str, float]] = []
            elapsed, peak_mib, _ = build(Path(tmp), stage_times=times)
            size = (Path(tmp) / "warehouse" / "education.duckdb").stat().st_size
        print(
            f"run {index + 1}: wall {elapsed:6.1f} s | peak RSS of largest process {peak_mib:7.1f} MiB"
            f" | published database {size / 1024 / 1024:.1f} MiB"
        )
        print("  " + " | ".join(f"{stage} {seconds:.1f}" for stage, seconds in times))
        stages_run = [stage for stage, _ in times]
        if "publish" in stages_run:
            to_publication = sum(seconds for _, seconds in times[: 1 + stages_run.index("publish")])
            print(
                f"  start to publication {to_publication:.1f} s, outputs and summary {elapsed - to_publication:.1f} s"
            )
        verdict = "met" if elapsed < TARGET_RUN_SECONDS else "not met"
        print(f"  target for the whole run: {TARGET_RUN_SECONDS} s ({verdict})")


if __name__ == "__main__":
    main()

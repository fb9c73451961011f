"""Command line entry points used by the Makefile.

``python -m orchestration.cli run``: materialize every asset in-process (the same job the termly
schedule launches), printing the pipeline's progress (orchestration/defs/console.py) and a closing
summary (orchestration/lib/run_summary.py: what was loaded, gated, published and written, each
failed gate with the file and rows it names). Exit code 0 when every step and gate passed, 1 when
nothing was published, 2 when the publication was made but a later output step or output gate
failed. ``prepare``: write the dbt manifest the Dagster definitions load.
``update-sources``: resolve the ``ees_api:`` and ``url:`` sources of sources.yml again (newest
versions their rules allow), download what changed and rewrite sources.lock; ``make run`` then
builds exactly that. ``briefing --la "St. Helens"``: rewrite one LA's committee briefing from the
published database.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import NoReturn

from orchestration.lib.printable import printable
from orchestration.lib.settings import DBT_PROJECT_DIR, REPO_ROOT, load_settings

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
QUIET_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
}


def configure_environment() -> None:
    """The project's .env (as the Dagster UI reads it), no telemetry from dbt, Great Expectations
    or Dagster, and a Dagster home, for this process and the tools it starts. The pipeline's own
    settings are not set here: they are read through orchestration.lib.settings."""
    from orchestration.lib.env_file import load_env_file

    load_env_file(REPO_ROOT)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")


def prepare(*, always: bool = True) -> None:
    """`dbt parse` writes target/manifest.json, which the dbt assets are defined from. With
    ``always=False`` (`make run`) the parse is skipped when the manifest was parsed from exactly
    the project on disk and these vars (orchestration/lib/transform/manifest_state.py)."""
    from orchestration.defs.transform.resources import dbt_executable, dbt_vars
    from orchestration.lib.transform import manifest_state

    configure_environment()
    args = [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        *dbt_vars(load_settings()),
    ]
    target = DBT_PROJECT_DIR / "target"
    target.mkdir(parents=True, exist_ok=True)
    # One prepare at a time (a run, the UI's code server, a test session): the fingerprint is
    # recorded beside the very files its parse wrote.
    with (target / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        before, current = manifest_state.current_fingerprint(DBT_PROJECT_DIR, target, args)
        if current and not always:
            return
        manifest_state.forget(target)
        for stale in target.glob(".parse-*"):  # left by a prepare that was killed
            shutil.rmtree(stale, ignore_errors=True)
        # dbt writes its manifest in place: parsed into a folder of its own and moved in file by
        # file, a process loading the definitions meanwhile reads the old manifest or the new one,
        # never half of one.
        staging = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
        try:
            if (target / PARTIAL_PARSE_FILE).exists():  # dbt reparses only what changed
                shutil.copy2(target / PARTIAL_PARSE_FILE, staging / PARTIAL_PARSE_FILE)
            subprocess.run([dbt_executable(), "parse", "--quiet", "--target-path", str(staging), *args], check=True)
            written = sorted((p for p in staging.iterdir() if p.is_file()), key=lambda p: p.name == "manifest.json")
            for path in written:  # the manifest last: it is what readers load
                os.replace(path, target / path.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        manifest_state.record(target, before)


def run() -> int:
    from orchestration.lib.errors import PipelineInputError

    try:
        settings = load_settings()
    except PipelineInputError as exc:  # a malformed EDU_* variable: nothing has run
        print(f"NOT RUN: {printable(str(exc))}", file=sys.stderr)
        return 1
    from orchestration.lib import run_lock

    try:
        with run_lock.exclusive(settings.warehouse_dir, "make run"):
            return _run_locked(settings)
    except run_lock.RunLockedError as exc:  # another run holds the warehouse folder: nothing has run
        print(f"NOT RUN: {printable(str(exc))}", file=sys.stderr)
        return 1


def _run_locked(settings) -> int:
    # The dbt assets are defined from the manifest: it must match the models on disk.
    prepare(always=False)
    from orchestration.definitions import defs
    from orchestration.lib import run_history
    from orchestration.lib.alerts import ALERTED_TAG

    print(f"sources: {settings.sources_file}\nwarehouse: {settings.published_db}", flush=True)
    job = refresh_job(defs, settings.run_outputs)
    # DAGSTER_HOME's instance, its run history written through open connections (lib/run_history.py)
    with run_history.open_instance(Path(os.environ["DAGSTER_HOME"])) as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            # this command sends the run's failure alert itself; the UI's sensor leaves the run alone
            tags={ALERTED_TAG: "make run"},
            # The console logger (orchestration/defs/console.py) shows progress at INFO, every event at DEBUG.
            run_config={"loggers": {"console": {"config": {"log_level": settings.log_level}}}},
        )
        records = instance.all_logs(result.run_id)
    text, code = report(records, settings)
    if not result.success:  # before the summary, which stays the console's last word
        _alert(records, result.run_id, settings)
    print("\n" + printable(text), flush=True)
    return code


def refresh_job(defs, run_outputs: bool):
    """The refresh job, or with EDU_RUN_OUTPUTS=0 the part up to the publication (no briefings,
    exports or docs): quicker when only the warehouse is wanted, e.g. in tests of ingestion and
    publication. The checks are the job's own on those assets, so what the job leaves out (the
    freshness check, evaluated by its sensor) stays out here too."""
    from orchestration.defs.publish.schedules import REFRESH_JOB_NAME

    job = defs.resolve_job_def(REFRESH_JOB_NAME)
    if run_outputs:
        return job
    graph = job.asset_layer.asset_graph
    assets = {key for key in graph.get_all_asset_keys() if key.path[0] != "outputs"}
    checks = {key for key in graph.asset_check_keys if key.asset_key in assets}
    return job.get_subset(asset_selection=assets, asset_check_selection=checks)


def _alert(records, run_id: str, settings) -> None:
    from orchestration.defs.publish.schedules import REFRESH_JOB_NAME
    from orchestration.lib import run_summary
    from orchestration.lib.alerts import deliver, failure_alert

    alert = failure_alert(
        run_summary.collect(records), run_id, REFRESH_JOB_NAME, str(settings.log_dir / "run_report.txt")
    )
    problems = deliver(alert, settings)
    where = "posted to EDU_ALERT_WEBHOOK_URL and " if settings.alert_webhook_url and not problems else ""
    print(f"alert {where}written to {settings.log_dir / 'alerts.log'}", flush=True)
    for problem in problems:
        print(f"alert: {problem}", file=sys.stderr, flush=True)


def report(records, settings) -> tuple[str, int]:
    """The closing summary of a run from its event log records, and the exit code. The summary,
    every failed gate and step in full and every gate are also written to
    ``warehouse/build/logs/run_report.txt``, which the summary points at."""
    from orchestration.defs.transform.dbt_log import dbt_log_path
    from orchestration.lib import run_summary

    facts = run_summary.collect(records)
    report_path = settings.log_dir / "run_report.txt"
    dbt_log = dbt_log_path(settings)
    summary = run_summary.render(
        facts,
        sources_file=settings.sources_file,
        published_db=settings.published_db,
        # dbt.log is rewritten by each run's dbt step: point at it only when this run wrote it.
        dbt_log=dbt_log if "dbt_models" in facts.steps_started and dbt_log.exists() else None,
        report=report_path,
    )
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(printable(run_summary.full_report(facts, summary)), encoding="utf-8")
    return summary, run_summary.exit_code(facts)


def update_sources(datasets: list[str] | None = None) -> int:
    from orchestration.lib.errors import PipelineInputError
    from orchestration.lib.sources.lock import lock_path_for, read_lock, resolve_sources

    settings = load_settings()
    lock_path = lock_path_for(settings.sources_file)
    try:
        before = read_lock(lock_path)
    except PipelineInputError:
        before = {}  # an unreadable lock is simply replaced
    try:
        resolved = resolve_sources(
            settings.sources_file, settings.landing_dir, update=set(datasets) if datasets else True
        )
    except PipelineInputError as exc:
        print(f"\nUPDATE FAILED: {exc}\nsources.lock was left unchanged.", file=sys.stderr)
        return 1
    print(f"sources: {settings.sources_file}")
    if not resolved.remote:
        print("no ees_api: or url: source: no data to resolve")
    for result in resolved.remote:
        entry = result.lock_entry
        old = next((e for e in before.get(result.source.dataset, []) if e.get("sha256") == entry.get("sha256")), None)
        state = "unchanged" if old else "new"
        if "data_set_id" in entry:
            print(
                f"  {result.source.dataset}: {entry['data_set_id']} '{result.source.version}' -> v{entry['version']} "
                f"({entry['status']}, published {entry.get('published')}) [{state}]"
            )
        else:
            print(f"  {result.source.dataset}: {entry['url']} sha256 {entry['sha256'][:12]} [{state}]")
    for slug, publication in resolved.publications.items():
        print(
            f"  publication {slug}: latest release {publication['latest_release_title']} "
            f"(published {publication['latest_release_published']}), next release "
            f"{publication['next_release'] or 'not announced'} [asked {publication['checked_on']}]"
        )
    for warning in resolved.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    print(
        f"{'wrote' if resolved.lock_written else 'unchanged:'} {resolved.lock_path} ({resolved.downloads} download(s))"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "prepare", "update-sources", "briefing"])
    parser.add_argument("datasets", nargs="*", help="update-sources: only these datasets (default: all)")
    parser.add_argument(
        "--la",
        action="append",
        default=[],
        help="briefing: an LA name or code, repeatable (default: $EDU_BRIEFING_LAS, else every LA)",
    )
    args = parser.parse_args(argv)
    from orchestration.lib.errors import PipelineInputError

    try:
        configure_environment()  # first: .env fills in the settings every command reads
    except PipelineInputError as exc:  # a malformed .env: nothing has run
        print(f"NOT RUN: {printable(str(exc))}", file=sys.stderr)
        sys.exit(1)
    if args.command == "briefing":  # rewrite briefings from the published database, no pipeline run
        from orchestration.lib.outputs.briefing.render import main as briefing

        sys.exit(briefing([arg for la in args.la for arg in ("--la", la)]))
    if args.command == "prepare":
        prepare()
        return
    if args.command == "update-sources":
        sys.exit(update_sources(args.datasets))
    _exit_now(run())


def _exit_now(code: int) -> NoReturn:
    """Exit without tearing the interpreter down. Once a run has written everything (its files and
    run history closed, the summary printed), freeing the modules Dagster, dbt, Great
    Expectations and pandas loaded takes Python 1.5-2 s that nothing needs. The exit handlers
    (logging's flush, multiprocessing's and weakref finalizers' clean-up) still run first."""
    # what the interpreter's exit runs before its teardown: join the threads still running (and
    # concurrent.futures' exit hooks), then the exit handlers
    threading._shutdown()  # noqa: SLF001
    atexit._run_exitfuncs()  # noqa: SLF001
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

"""Command line entry points used by the Makefile.

``python -m orchestration.cli run``: materialize every asset in-process (the same job the termly
schedule launches), print each failed gate with the file and rows it names, exit non-zero when
anything failed. ``prepare``: write the dbt manifest the Dagster definitions load.
``update-sources``: resolve the ``ees_api:`` and ``url:`` sources of sources.yml again (newest
versions their rules allow), download what changed and rewrite sources.lock; ``make run`` then
builds exactly that. ``briefing --la "St. Helens"``: rewrite one LA's committee briefing from the
published database.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from orchestration.lib.settings import DBT_PROJECT_DIR, REPO_ROOT, load_settings

QUIET_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
}


def configure_environment() -> None:
    """No telemetry from dbt, Great Expectations or Dagster, and a Dagster home, for this
    process and the tools it starts. The pipeline's own settings are not set here: they are
    read through orchestration.lib.settings."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")


def prepare() -> None:
    """`dbt parse` writes target/manifest.json, which the dbt assets are defined from."""
    from orchestration.defs.transform.resources import dbt_executable, dbt_vars

    configure_environment()
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         *dbt_vars(load_settings())],
        check=True,
    )


def run() -> int:
    # The dbt assets are defined from the manifest: parse first so it matches the models on disk.
    prepare()
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.publish.assets import PUBLICATION_KEY
    from orchestration.defs.publish.schedules import REFRESH_JOB_NAME

    settings = load_settings()
    print(f"sources: {settings.sources_file}\nwarehouse: {settings.published_db}")
    job = defs.resolve_job_def(REFRESH_JOB_NAME)
    # Dagster logs every event at DEBUG; a termly run reads better at INFO (EDU_LOG_LEVEL overrides).
    log_level = settings.log_level
    # EDU_RUN_OUTPUTS=0 stops after the publication (no briefings, exports or docs): quicker
    # when only the warehouse is wanted, e.g. in tests of ingestion and publication.
    selection = None
    if not settings.run_outputs:
        selection = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] != "outputs"]
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        asset_selection=selection,
    )

    failed_checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION and not e.asset_check_evaluation_data.passed
    ]
    failed_steps = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    published = any(
        e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and e.asset_key == PUBLICATION_KEY
        for e in result.all_events
    )
    for check in failed_checks:
        print(f"\nGATE FAILED: {check.asset_key.to_user_string()} / {check.check_name}", file=sys.stderr)
        if check.description:
            print(check.description, file=sys.stderr)
    for step in failed_steps:
        error = step.step_failure_data.error
        message = error.message.strip() if error else "unknown error"
        cause = error.cause.message.strip() if error and error.cause else ""
        print(f"\nSTEP FAILED: {step.step_key}: {message}" + (f"\n  caused by: {cause}" if cause else ""), file=sys.stderr)
    if not published:
        print(
            f"\nNOT PUBLISHED: {settings.published_db} was left unchanged (run id {result.run_id}).",
            file=sys.stderr,
        )
        return 1
    print(f"\nPublished {settings.published_db} (run id {result.run_id}).")
    if failed_steps:
        # The warehouse is published, but a briefing, export or doc step failed: say so loudly.
        print("Some outputs after the publication failed (see STEP FAILED above).", file=sys.stderr)
        return 2
    return 0


def update_sources(datasets: list[str] | None = None) -> int:
    from orchestration.lib.errors import PipelineInputError
    from orchestration.lib.source_lock import lock_path_for, read_lock, resolve_sources

    settings = load_settings()
    lock_path = lock_path_for(settings.sources_file)
    try:
        before = read_lock(lock_path)
    except PipelineInputError:
        before = {}  # an unreadable lock is simply replaced
    try:
        resolved = resolve_sources(settings.sources_file, settings.landing_dir, update=set(datasets) if datasets else True)
    except PipelineInputError as exc:
        print(f"\nUPDATE FAILED: {exc}\nsources.lock was left unchanged.", file=sys.stderr)
        return 1
    print(f"sources: {settings.sources_file}")
    if not resolved.remote:
        print("no ees_api: or url: source: nothing to resolve")
    for result in resolved.remote:
        entry = result.lock_entry
        old = next((e for e in before.get(result.source.dataset, []) if e.get("sha256") == entry.get("sha256")), None)
        state = "unchanged" if old else "new"
        if "data_set_id" in entry:
            print(f"  {result.source.dataset}: {entry['data_set_id']} '{result.source.version}' -> v{entry['version']} "
                  f"({entry['status']}, published {entry.get('published')}) [{state}]")
        else:
            print(f"  {result.source.dataset}: {entry['url']} sha256 {entry['sha256'][:12]} [{state}]")
    for warning in resolved.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    print(f"{'wrote' if resolved.lock_written else 'unchanged:'} {resolved.lock_path} ({resolved.downloads} download(s))")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "prepare", "update-sources", "briefing"])
    parser.add_argument("datasets", nargs="*", help="update-sources: only these datasets (default: all)")
    parser.add_argument("--la", action="append", default=[],
                        help="briefing: an LA name or code, repeatable (default: $EDU_BRIEFING_LAS, else every LA)")
    args = parser.parse_args(argv)
    if args.command == "briefing":  # rewrite briefings from the published database, no pipeline run
        from orchestration.lib.briefing.render import main as briefing

        sys.exit(briefing([arg for la in args.la for arg in ("--la", la)]))
    if args.command == "prepare":
        prepare()
        return
    if args.command == "update-sources":
        sys.exit(update_sources(args.datasets))
    sys.exit(run())


if __name__ == "__main__":
    main()

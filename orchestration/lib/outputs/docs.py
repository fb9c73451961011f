"""Documentation published beside the warehouse: dbt docs and a data-docs report of the gates.

- ``publish_dbt_docs`` copies what ``dbt docs generate --static`` wrote (``index.html``,
  ``manifest.json``, ``catalog.json`` and the self-contained ``static_index.html``, which opens
  from disk without a web server) into ``docs/dbt/``.
- ``write_gate_report`` renders ``docs/gx/index.html`` from the published database: the latest
  publication's check results (``audit.publications.check_results``: every Great Expectations
  suite and dbt test that gated it), the raw files it was built from, and what each Great
  Expectations suite in ``expectations/`` checks.

Both folders are built aside and swapped in whole.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.outputs.exports import remove_tree, replace_directory, staging_dir
from orchestration.lib.settings import EXPECTATIONS_DIR

DBT_DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")
TEMPLATES_DIR = Path(__file__).parent / "briefing" / "templates"


def publish_dbt_docs(target_path: Path, out_dir: Path) -> dict[str, Path]:
    """Copy the dbt docs artefacts from a ``dbt docs generate`` target folder into ``out_dir``."""
    missing = [name for name in ("index.html", "manifest.json", "catalog.json") if not (target_path / name).exists()]
    if missing:
        raise FileNotFoundError(f"dbt docs generate did not write {', '.join(missing)} in {target_path}")
    stage = staging_dir(out_dir)
    try:
        copied = {}
        for name in DBT_DOCS_FILES:
            if (target_path / name).exists():
                shutil.copy2(target_path / name, stage / name)
                copied[name] = out_dir / name
        replace_directory(stage, out_dir)
    except BaseException:
        remove_tree(stage)
        raise
    return copied


@dataclass
class GateReport:
    path: Path
    publication_id: str | None
    checks: int
    failed: int
    suites: int


def _suite_summaries(expectations_dir: Path) -> list[dict]:
    suites = []
    for path in sorted(expectations_dir.glob("*.json")):
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        expectations = []
        for item in suite.get("expectations", []):
            kwargs = {k: v for k, v in (item.get("kwargs") or {}).items() if k not in ("result_format", "batch_id")}
            condition = kwargs.pop("row_condition", None)
            meta = item.get("meta") or {}
            expectations.append(
                {
                    "type": item.get("type") or item.get("expectation_type"),
                    "label": meta.get("check") or meta.get("notes") or "",
                    "kwargs": json.dumps(kwargs, default=str, sort_keys=True),
                    "condition": condition
                    if isinstance(condition, str)
                    else (json.dumps(condition) if condition else ""),
                }
            )
        suites.append(
            {
                "name": suite.get("name") or path.stem,
                "file": path.name,
                "expectations": expectations,
                "meta": suite.get("meta") or {},
            }
        )
    return suites


def write_gate_report(
    published_db: Path, out_dir: Path, expectations_dir: Path = EXPECTATIONS_DIR, generated_at: datetime | None = None
) -> GateReport:
    import jinja2

    if not published_db.exists():
        raise FileNotFoundError(f"no published database at {published_db}: run `make run` first")
    with duckdb.connect(str(published_db), read_only=True) as con:
        rows = con.execute(
            "SELECT publication_id, published_at, code_version, sources_file, raw_files, check_results, "
            "table_checksums, previous_publication_id FROM audit.publications ORDER BY published_at DESC"
        ).fetchall()
    if not rows:
        raise ValueError(f"{published_db} has no publication recorded in audit.publications")
    latest = dict(
        zip(
            (
                "publication_id",
                "published_at",
                "code_version",
                "sources_file",
                "raw_files",
                "check_results",
                "table_checksums",
                "previous_publication_id",
            ),
            rows[0],
        )
    )
    checks = json.loads(latest["check_results"] or "[]")
    by_asset: dict[str, list[dict]] = defaultdict(list)
    for check in checks:
        check["kind"] = "Great Expectations suite" if str(check.get("check", "")).startswith("gx_") else "dbt test"
        by_asset[check["asset"]].append(check)
    suites = _suite_summaries(expectations_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    html = env.get_template("gate_report.html.j2").render(
        publication=latest,
        history=[
            {
                "publication_id": r[0],
                "published_at": r[1],
                "code_version": r[2],
                "checks": len(json.loads(r[5] or "[]")),
            }
            for r in rows
        ],
        raw_files=json.loads(latest["raw_files"] or "[]"),
        tables=json.loads(latest["table_checksums"] or "{}"),
        assets=sorted(by_asset.items()),
        checks=checks,
        failed=[c for c in checks if not c.get("passed")],
        gx_count=sum(1 for c in checks if c["kind"] == "Great Expectations suite"),
        suites=suites,
        generated=(generated_at or datetime.now(UTC)).strftime("%d %B %Y %H:%M UTC"),
    )
    stage = staging_dir(out_dir)
    try:
        (stage / "index.html").write_text(html, encoding="utf-8")
        (stage / "check_results.json").write_text(
            json.dumps(
                {
                    "publication_id": latest["publication_id"],
                    "published_at": str(latest["published_at"]),
                    "checks": checks,
                },
                indent=1,
                default=str,
            )
            + "\n",
            encoding="utf-8",
        )
        replace_directory(stage, out_dir)
    except BaseException:
        remove_tree(stage)
        raise
    return GateReport(
        out_dir / "index.html",
        latest["publication_id"],
        len(checks),
        sum(1 for c in checks if not c.get("passed")),
        len(suites),
    )

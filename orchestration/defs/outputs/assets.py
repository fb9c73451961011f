"""Publication outputs, written from the published database once ``warehouse/education`` has
materialized (so only after every gate passed): committee briefings, Parquet exports with a data
dictionary, dbt docs and the gates' data docs. Each output is built aside and swapped in whole;
a failure leaves the previous output as it was and never touches the publication.

The outputs' checks are declared by the step that writes them (``check_specs``): the briefings
say what the marts say, and the exports hold what was published. They run after the
publication, so they cannot block it; when any number of a run's briefings does not read back
right, none of them is put in place. A failure is reported by `make run` like any other check."""

import contextlib
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.publish.assets import PUBLICATION_KEY
from orchestration.defs.transform import dbt_docs
from orchestration.defs.transform.dbt_docs import DBT_DOCS_KEY
from orchestration.defs.transform.dbt_log import dbt_log_path
from orchestration.defs.transform.resources import dbt_project
from orchestration.lib.outputs import docs, exports
from orchestration.lib.outputs.briefing import render
from orchestration.lib.publish.warehouse import published_copy
from orchestration.lib.settings import Settings

GROUP = "outputs"
BRIEFINGS_KEY = dg.AssetKey(["outputs", "briefings"])
EXPORTS_KEY = dg.AssetKey(["outputs", "exports"])
GX_DOCS_KEY = dg.AssetKey(["outputs", "gx_docs"])


@contextlib.contextmanager
def published(warehouse: WarehouseResource) -> Iterator[Path]:
    """A private copy of the publication to read (a BI tool may hold the served file open)."""
    settings = warehouse.settings()
    if not settings.published_db.exists():
        raise dg.Failure(
            f"no published database at {settings.published_db}: materialize warehouse/education first (make run)"
        )
    with published_copy(settings.published_db, settings.build_dir) as copy:
        yield copy


briefing_check_spec = dg.AssetCheckSpec(
    "briefing_numbers_match_marts",
    asset=BRIEFINGS_KEY,
    description="Every number in the briefings written from this publication reads back as the "
    "mart value it is tagged with: LA figures from fct_la_measure, school figures from "
    "mart_school_outcomes, mart_inspection_outcomes and mart_schools_causing_concern. The "
    "outputs step reads back each briefing it writes before putting any in place; run alone, "
    "the check reads every briefing on disk written from the publication",
)


def _briefing_check(checked: int, numbers: int, problems: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=briefing_check_spec.name,
        asset_key=BRIEFINGS_KEY,
        passed=not problems and checked > 0,
        description=(
            f"{numbers:,} numbers in {checked} briefings match the marts"
            if not problems
            else f"{len(problems)} numbers differ from the marts:\n" + "\n".join(problems[:20])
        ),
        metadata={"briefings": checked, "numbers": numbers, "mismatches": len(problems)},
    )


class _Briefings:
    """write_briefings on a thread of this process, from a private copy of the publication, while
    the step writes the other outputs (the briefings' own workers are processes, so the thread
    mostly waits for them)."""

    def __init__(self, warehouse: WarehouseResource):
        settings = warehouse.settings()
        self.spec = settings.briefing_las
        with contextlib.ExitStack() as opened:
            publication = opened.enter_context(published(warehouse))
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="briefings")
            self._future = self._thread.submit(
                render.write_briefings, publication, settings.warehouse_dir / "briefings", self.spec
            )
            self._copy = opened.pop_all()  # removed once the briefings are written

    def results(self, context: dg.AssetExecutionContext, checked: bool) -> Iterator:
        """The briefings' materialization and (``checked``) their check, once they are written."""
        try:
            run = self._future.result()
        except render.NoSuchLa as exc:
            raise dg.Failure(f"{render.BRIEFING_LAS_ENV}={self.spec!r}: {exc}") from exc
        except render.BriefingNumbersDiffer as exc:
            if checked:
                yield _briefing_check(exc.checked, exc.numbers, exc.problems)
            raise dg.Failure(f"briefings not replaced: {exc}; the previous briefings stay") from exc
        finally:
            self.close()
        context.log.info(f"{run.las} briefings, {run.charts} charts in {run.seconds:.1f} s: {run.index}")
        examples = list(run.examples.items())
        metadata = {
            "index": dg.MetadataValue.path(str(run.index)),
            "briefings": run.las,
            "charts": run.charts,
            "seconds": round(run.seconds, 1),
            "selection": self.spec or "all local authorities",
            "examples": dg.MetadataValue.md(
                "\n".join(f"- {name}: `{path}`" for name, path in examples[:10])
                + (f"\n- ... and {len(examples) - 10} more" if len(examples) > 10 else "")
            ),
        }
        if examples:
            metadata["example"] = dg.MetadataValue.path(str(examples[0][1]))
        yield dg.MaterializeResult(asset_key=BRIEFINGS_KEY, metadata=metadata)
        if checked:
            yield _briefing_check(run.checked, run.numbers, [])

    def close(self) -> None:
        """Wait for the briefings (written aside, they are put in place whole or not at all)."""
        try:
            self._thread.shutdown(wait=True)
        finally:
            self._copy.close()


def _exports(warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = warehouse.settings()
    with published(warehouse) as publication:
        run = exports.export_published(publication, settings.warehouse_dir / "exports", dbt_project.manifest_path)
    return dg.MaterializeResult(
        asset_key=EXPORTS_KEY,
        metadata={
            "path": dg.MetadataValue.path(str(run.out_dir)),
            "data_dictionary": dg.MetadataValue.path(str(run.dictionary)),
            "workbook": dg.MetadataValue.path(str(run.workbook)),
            "tables": dg.MetadataValue.md(
                "\n".join(f"- `{table}`: {run.rows[table]:,} rows, `{path}`" for table, path in run.files.items())
            ),
        },
    )


exports_check_spec = dg.AssetCheckSpec(
    "exports_match_publication",
    asset=EXPORTS_KEY,
    description="One Parquet per published table with the table's rows and columns, a CSV beside it, and the "
    "Excel workbook with a sheet for every table it holds",
)


def exports_match_publication(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings()
    with published(warehouse) as publication:
        tables, problems = exports.export_problems(publication, settings.warehouse_dir / "exports")
    return dg.AssetCheckResult(
        check_name=exports_check_spec.name,
        asset_key=EXPORTS_KEY,
        passed=not problems,
        description=f"{tables} tables exported" if not problems else "; ".join(problems),
        metadata={"tables": tables},
    )


def _gx_docs(warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = warehouse.settings()
    with published(warehouse) as publication:
        report = docs.write_gate_report(publication, settings.warehouse_dir / "docs" / "gx")
    return dg.MaterializeResult(
        asset_key=GX_DOCS_KEY,
        metadata={
            "path": dg.MetadataValue.path(str(report.path)),
            "publication_id": report.publication_id or "",
            "gates": report.checks,
            "failed": report.failed,
            "suites": report.suites,
        },
    )


class _DbtDocs:
    """This run's `dbt docs generate`: the process its dbt step started as soon as the build was
    done (defs/transform/dbt_docs.py), else one started now. Its files are published once it
    has succeeded."""

    def __init__(self, settings: Settings, run_id: str):
        self.settings = settings
        early = dbt_docs.take(run_id)
        self.started_with = "dbt build" if early is not None else "outputs"
        self.generation = early or dbt_docs.DocsGeneration(settings, run_id)

    def finish(self) -> dg.MaterializeResult:
        try:
            code = self.generation.wait()
        except BaseException:
            self.stop()
            raise
        if code != 0:
            raise dg.Failure(f"dbt docs generate failed (exit code {code}): {dbt_log_path(self.settings)} says why")
        copied = docs.publish_dbt_docs(self.generation.target, self.settings.warehouse_dir / "docs" / "dbt")
        page = copied.get("static_index.html") or copied["index.html"]
        return dg.MaterializeResult(
            asset_key=DBT_DOCS_KEY,
            metadata={
                "path": dg.MetadataValue.path(str(page)),
                "files": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in copied.values())),
                "started_with": self.started_with,
            },
        )

    def stop(self) -> None:
        """Stop dbt (the step failed or was interrupted); its docs are not published."""
        self.generation.stop()


def _output_spec(key: dg.AssetKey, kinds: set[str], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=[PUBLICATION_KEY], group_name=GROUP, kinds=kinds, description=description)


@dg.multi_asset(
    name="outputs",
    specs=[
        _output_spec(
            BRIEFINGS_KEY,
            {"python", "html", "word"},
            "`warehouse/briefings/<la>/<year>.html`, `.md` and `.docx` (the Word committee paper): "
            "briefings per LA (EDU_BRIEFING_LAS picks the LAs; default all), with an index.html",
        ),
        _output_spec(
            EXPORTS_KEY,
            {"parquet", "csv", "excel"},
            "`warehouse/exports/`: `<schema>.<table>.parquet` and `.csv` (UTF-8 with BOM, for Excel) "
            "for every published table, education.xlsx (a sheet per table, a read-me sheet of column "
            "descriptions) and data_dictionary.json (grain, columns, types, descriptions)",
        ),
        _output_spec(
            DBT_DOCS_KEY,
            {"dbt"},
            "warehouse/docs/dbt/: dbt docs (static_index.html opens without a server; index.html, "
            "manifest.json and catalog.json for `dbt docs serve`-style hosting)",
        ),
        _output_spec(
            GX_DOCS_KEY,
            {"great_expectations", "html"},
            "warehouse/docs/gx/index.html: data docs of the gates that passed for the current "
            "publication (every GX suite and dbt test), the suites' expectations and the raw files",
        ),
    ],
    check_specs=[briefing_check_spec, exports_check_spec],
    can_subset=True,
)
def outputs(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The publication's outputs, written side by side: the briefings (in worker processes) and
    `dbt docs generate` (a process of its own, usually started by the dbt step with the build) run
    while this process writes the exports (their rows built by DuckDB) and the gate report, so the
    run waits for the longest of them, not for their sum. Each is built aside and swapped in
    whole; one that fails leaves the others written (and checked) and fails the step with its
    error."""
    selected = set(context.selected_asset_keys)
    checks = set(context.selected_asset_check_keys)
    failed: list[BaseException] = []

    @contextlib.contextmanager
    def recorded(what: str) -> Iterator[types.SimpleNamespace]:
        """A block whose exception is logged and kept (the step fails with the first one once
        every output has had its turn), not raised: one output failing leaves the others written."""
        outcome = types.SimpleNamespace(failed=False)
        try:
            yield outcome
        except Exception as exc:
            context.log.error(f"{what}: {exc}")
            failed.append(exc)
            outcome.failed = True

    if briefing_check_spec.key in checks and BRIEFINGS_KEY not in selected:  # the check alone: files on disk
        with recorded(f"check {briefing_check_spec.name} could not run"), published(warehouse) as publication:
            yield _briefing_check(
                *render.verify_briefings(publication, warehouse.settings().warehouse_dir / "briefings")
            )
    briefings = docs_generation = None
    try:
        if BRIEFINGS_KEY in selected:
            with recorded(f"{BRIEFINGS_KEY.to_user_string()} not written"):
                briefings = _Briefings(warehouse)
        if DBT_DOCS_KEY in selected:
            with recorded(f"{DBT_DOCS_KEY.to_user_string()} not written"):
                docs_generation = _DbtDocs(warehouse.settings(), context.run.run_id)
        exports_failed = False
        for key, write in ((EXPORTS_KEY, _exports), (GX_DOCS_KEY, _gx_docs)):
            if key in selected:
                with recorded(f"{key.to_user_string()} not written") as outcome:
                    yield write(warehouse)
                exports_failed |= outcome.failed and key == EXPORTS_KEY
        # the exports this step wrote or, when the check alone is selected, those on disk
        if exports_check_spec.key in checks and not exports_failed:
            with recorded(f"check {exports_check_spec.name} could not run"):
                yield exports_match_publication(warehouse)
        if briefings is not None:
            writing, briefings = briefings, None
            with recorded(f"{BRIEFINGS_KEY.to_user_string()} not written"):
                yield from writing.results(context, briefing_check_spec.key in checks)
        if docs_generation is not None:
            docs_run, docs_generation = docs_generation, None
            with recorded(f"{DBT_DOCS_KEY.to_user_string()} not written"):
                yield docs_run.finish()
    finally:  # the step stopped early (an interrupt): dbt's process goes, the briefings finish aside
        try:
            if docs_generation is not None:
                docs_generation.stop()
        finally:
            if briefings is not None:
                briefings.close()
    if failed:
        raise failed[0]


output_assets = [outputs]

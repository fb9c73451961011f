"""Ingest: land the sources listed in sources.yml and load them into the build database's raw schema.

One subsettable multi-asset: materialising raw/ks2 alone lands and loads only the ks2 files (the
other raw tables stay as they are); a full run loads every table in one transaction. The lineage
tables (raw.landed_files, raw.file_columns, raw.data_set_versions, raw.publication_releases) are
shared and updated for the datasets a run loads. Remote sources (ees_api:, url:) are resolved through sources.lock; a run
tagged ``edu/update_sources`` (the new-release sensor's runs) resolves them again.
"""

import dagster as dg

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.lib.ingest.load import LINEAGE_TABLES, UPDATE_SOURCES_TAG, DatasetIngest, ingest, parse_update_tag
from orchestration.lib.ingest.local_datasets import LOCAL_TABLES
from orchestration.lib.sources.config import dataset_specs

LOCAL_DESCRIPTIONS = {
    "local_schools": "raw.local_schools: the council's school register(s) (local: datasets of kind school_register), one row per register row",
    "local_school_values": "raw.local_school_values: the council's school-level measures, one row per file row x declared measure, cells as written",
    "local_measures": "raw.local_measures: the measures each school_measures schema file declares (label, unit, polarity, bounds)",
    "local_inspections": "raw.local_inspections: Ofsted inspection outcomes (kind inspection_outcomes), one row per school per snapshot",
}


def raw_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def _specs() -> list[dg.AssetSpec]:
    specs = [
        dg.AssetSpec(
            raw_asset_key(name),
            description=f"raw.{name}: every landed {name} file, as text, with lineage columns",
            group_name="ingest",
            kinds={"duckdb", "csv"},
        )
        for name in dataset_specs()
    ]
    specs += [
        dg.AssetSpec(raw_asset_key(t), description=description, group_name="ingest", kinds={"duckdb"})
        for t, description in LINEAGE_TABLES.items()
    ]
    specs += [
        dg.AssetSpec(
            raw_asset_key(t), description=LOCAL_DESCRIPTIONS[t], group_name="ingest", kinds={"duckdb", "csv", "xlsx"}
        )
        for t in LOCAL_TABLES
    ]
    return specs


def _local_metadata(result: DatasetIngest, sources_file: str) -> dict:
    if result.dataset == "local_measures":
        files = "\n".join(
            f"- `{s.listed_as}` sha256 `{s.sha256[:12]}…`: {len(s.measures)} measure(s) "
            f"({', '.join(m.code for m in s.measures)})"
            for s in result.schemas
        )
    else:
        files = "\n".join(
            f"- `{f.parsed.source_file}` (local dataset `{f.dataset}`"
            + (f", sheet `{f.sheet}`" if f.sheet else "")
            + f") sha256 `{f.parsed.landed.sha256[:12]}…` {f.parsed.landed.size_bytes:,} bytes, "
            f"{f.parsed.row_count:,} file rows, {len(f.records):,} table rows, schema `{f.schema.listed_as}`"
            for f in result.local_files
        )
    return {
        "row_count": result.row_count,
        "dagster/row_count": result.row_count,
        "file_count": len(result.local_files) if result.dataset != "local_measures" else 0,
        "files": dg.MetadataValue.md(files or "(no local dataset of this kind in sources.yml: empty table)"),
        "sources_file": sources_file,
    }


def selected_tables(selected: set[dg.AssetKey]) -> set[str] | None:
    """The raw tables a run asked for (None: all of them). Selecting only lineage tables reloads
    everything, since they describe every dataset."""
    tables = {key.path[1] for key in selected if key.path[0] == "raw" and key.path[1] not in LINEAGE_TABLES}
    everything = set(dataset_specs()) | set(LOCAL_TABLES)
    return None if not tables or tables >= everything else tables


@dg.multi_asset(specs=_specs(), name="ingest_raw_files", can_subset=True)
def ingest_raw_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    # A bad disclosure threshold stops the run before anything lands, not after dbt built with it.
    settings.validate()
    update = parse_update_tag(context.run.tags.get(UPDATE_SOURCES_TAG))
    selected = set(context.selected_asset_keys)
    tables = selected_tables(selected)
    results = ingest(settings, settings.build_db, datasets=tables, update_sources=update, log=context.log)
    total_files = 0
    versions_used: dict[str, str] = {}
    for result in results:
        total_files += len(result.files)
        if raw_asset_key(result.dataset) not in selected:
            continue  # loaded with the others of its kind (the local_* tables load together)
        if result.dataset in LOCAL_TABLES:
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(result.dataset), metadata=_local_metadata(result, str(settings.sources_file))
            )
            continue
        metadata = {
            "row_count": result.row_count,
            "dagster/row_count": result.row_count,
            "file_count": len(result.files),
            "files": dg.MetadataValue.md(
                "\n".join(
                    f"- `{f.source_file}` sha256 `{f.landed.sha256[:12]}…` {f.landed.size_bytes:,} bytes, "
                    f"{f.row_count:,} rows, release {f.release or 'from version column'}"
                    + (
                        f", EES data set `{f.landed.data_set_id}` v{f.landed.data_set_version}"
                        if f.landed.data_set_id
                        else ""
                    )
                    for f in result.files
                )
                or "(not listed in sources.yml: empty table)"
            ),
            "sources_file": str(settings.sources_file),
        }
        if result.remote:
            metadata["remote_sources"] = dg.MetadataValue.md("\n".join(f"- {r.describe()}" for r in result.remote))
            metadata["ees_versions"] = dg.MetadataValue.json(
                [
                    {k: r.lock_entry.get(k) for k in ("data_set_id", "version", "status", "published", "sha256")}
                    for r in result.remote
                    if "data_set_id" in r.lock_entry
                ]
            )
            warnings = [w for r in result.remote for w in r.warnings]
            if warnings:
                metadata["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in warnings))
            for r in result.remote:
                if "data_set_id" in r.lock_entry:
                    versions_used[f"edu/ees/{result.dataset}"] = (
                        f"{r.lock_entry['data_set_id']}@{r.lock_entry['version']}"
                    )
        yield dg.MaterializeResult(asset_key=raw_asset_key(result.dataset), metadata=metadata)
    if versions_used:
        # Run tags, so the runs list shows which data set versions each run used.
        context.instance.add_run_tags(context.run.run_id, versions_used)
    for table in LINEAGE_TABLES:
        if raw_asset_key(table) not in selected:
            continue
        yield dg.MaterializeResult(asset_key=raw_asset_key(table), metadata={"file_count": total_files})

"""Ingest: land every file listed in sources.yml and load it into the build database's raw schema.

One multi-asset rather than one asset per dataset: the landing manifest and the lineage tables
(raw.landed_files, raw.file_columns) are shared, and a run must see all datasets of one landing.
"""


import dagster as dg

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.lib.ingest import ingest
from orchestration.lib.sources import dataset_specs

LINEAGE_TABLES = ("landed_files", "file_columns")


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
        dg.AssetSpec(raw_asset_key(t), description=f"raw.{t}: lineage of the landed files", group_name="ingest", kinds={"duckdb"})
        for t in LINEAGE_TABLES
    ]
    return specs


@dg.multi_asset(specs=_specs(), name="ingest_raw_files")
def ingest_raw_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    results = ingest(settings, settings.build_db)
    total_files = 0
    for result in results:
        total_files += len(result.files)
        yield dg.MaterializeResult(
            asset_key=raw_asset_key(result.dataset),
            metadata={
                "row_count": result.row_count,
                "files": dg.MetadataValue.md(
                    "\n".join(
                        f"- `{f.source_file}` sha256 `{f.landed.sha256[:12]}…` {f.landed.size_bytes:,} bytes, "
                        f"{len(f.rows):,} rows, release {f.release or 'from version column'}"
                        for f in result.files
                    )
                    or "(not listed in sources.yml: empty table)"
                ),
                "sources_file": str(settings.sources_file),
            },
        )
    for table in LINEAGE_TABLES:
        yield dg.MaterializeResult(asset_key=raw_asset_key(table), metadata={"file_count": total_files})

"""The EES dataset registry (vars.ees_datasets in dbt_project.yml): the committed generated files
are what it gives now, its entries are checked, and dbt and Python read its headline rule alike."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.rules import registry
from orchestration.lib.rules.catalogue import catalogue_rows, filter_alternatives
from orchestration.lib.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR
from orchestration.lib.sources.config import dataset_specs, dbt_project_vars
from tests.dbt_inline import compile_inline


def test_committed_generated_files_are_what_the_registry_gives():
    assert registry.differences() == [], "run `make generate` and commit the result"


def test_every_dataset_has_its_model_suite_and_source_table():
    datasets = registry.ees_datasets()
    assert list(datasets) == [
        "ks2",
        "ks4",
        "eyfs",
        "phonics",
        "ks1",
        "ks5",
        "age19",
        "absence",
        "exclusions",
        "ks4_destinations",
        "neet",
    ]
    sources = yaml.safe_load(registry.SOURCES_FILE.read_text(encoding="utf-8"))["sources"]
    assert [s["name"] for s in sources] == ["ees"]
    assert [t["name"] for t in sources[0]["tables"]] == list(datasets)
    # The hand-written sources file no longer declares the ees source (dbt would reject it twice).
    hand = yaml.safe_load((DBT_PROJECT_DIR / "models/staging/_sources.yml").read_text(encoding="utf-8"))["sources"]
    assert "ees" not in {s["name"] for s in hand}
    models = yaml.safe_load(registry.MODELS_FILE.read_text(encoding="utf-8"))["models"]
    assert [m["name"] for m in models] == [f"stg_ees__{d}" for d in datasets]
    # The YAML documents the row columns the staging macro writes, the ones int_ees_measure_values
    # does not unpivot (ees_staging_row_columns): the two lists agree.
    macro = (DBT_PROJECT_DIR / "macros/ees_staging.sql").read_text(encoding="utf-8")
    listed = re.search(r"macro ees_staging_row_columns\(\).*?return\(\[(.*?)\]\)", macro, re.S).group(1)
    row_columns = re.findall(r"'([a-z0-9_]+)'", listed)
    assert [name for name, _ in registry.STAGING_COLUMNS] == row_columns and len(row_columns) == 20
    assert all([c["name"] for c in m["columns"]] == row_columns for m in models)
    for name in datasets:
        sql = (registry.STAGING_DIR / f"stg_ees__{name}.sql").read_text(encoding="utf-8")
        assert sql.startswith(f"-- {registry.HEADER}\n") and sql.endswith(f"{{{{ ees_staging('{name}') }}}}\n")
        suite = json.loads((EXPECTATIONS_DIR / f"raw_{name}.json").read_text(encoding="utf-8"))
        assert suite["name"] == f"raw_{name}" and suite["meta"]["generated"] == registry.HEADER
    # The ingest reads the same entries (required columns, aliases).
    specs = dataset_specs()
    assert specs["ks4"].aliases["avg_att8"] == ("attainment8_average",)
    assert specs["neet"].required_columns == ("time_period", "time_identifier", "geographic_level", "country_code")
    assert specs["statistical_neighbours"].kind == "other"


def _suite(name: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"raw_{name}.json").read_text(encoding="utf-8"))


def _check(suite: dict, label_start: str) -> dict:
    return next(e for e in suite["expectations"] if e["meta"]["check"].startswith(label_start))


def test_suites_carry_each_datasets_own_checks():
    ks1, ks2, ks4 = (_suite(d)["expectations"] for d in ("ks1", "ks2", "ks4"))
    assert ks1 == ks2 and len(ks2) == 20
    # KS4 adds its scores' bounds (Attainment 8, Progress 8, EBacc APS, under both names)
    extra = [e["meta"]["check"].split(" (")[0] for e in ks4 if e not in ks2]
    assert extra == [
        "avg_att8 within 0-90",
        "attainment8_average within 0-90",
        "avg_p8score within -5-5",
        "progress8_average within -5-5",
        "avg_ebaccaps within 0-9",
        "ebacc_aps_average within 0-9",
    ]
    neet = _suite("neet")
    assert _check(neet, "calendar-year time period")["kwargs"] == {"column": "time_period", "regex": r"^(19|20)\d{2}$"}
    assert _check(neet, "time identifier")["kwargs"]["value_set"] == ["Calendar year"]
    assert _check(_suite("ks2"), "academic-year time period")["kwargs"]["regex"] == r"^(19|20)\d{2}(\d{2})$"
    assert _check(neet, "geographic level")["kwargs"]["value_set"] == ["National", "Regional", "Local authority"]
    susp = _check(_suite("exclusions"), "susp_rate within 0-1000")
    assert susp["kwargs"] == {
        "column": "value",
        "min_value": 0,
        "max_value": 1000,
        "row_condition": 'indicator == "susp_rate"',
        "condition_parser": "pandas",
    }
    assert "Newham 289.6 in 2017/18" in susp["meta"]["check"]
    aps = _check(_suite("ks5"), "aps_per_entry")
    assert (aps["kwargs"]["max_value"], aps["meta"]["check"]) == (
        60,
        "aps_per_entry within 0-60 (points per entry run from 0 to 60 (A level A*; applied general and tech level distinction* is 50))",
    )
    # The extra ranges sit after the all-percentages check and before the duplicate check.
    labels = [e["meta"]["check"] for e in _suite("eyfs")["expectations"]]
    assert labels[12:18] == [
        "number is finite",
        "percentage within 0-100",
        "gld_percentage within 0-100",
        "elg_percentage within 0-100",
        "average_elgs within 0-17 (the profile has 17 early learning goals)",
        "no duplicate rows (time x geography x filters x version in a file)",
    ]


def _with_entry(edit) -> dict:
    variables = copy.deepcopy(dbt_project_vars())
    edit(variables["ees_datasets"])
    return variables


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["ks2"].update(titel="x"), "vars.ees_datasets.ks2: unknown key(s) titel"),
        (lambda d: d["ks2"].pop("title"), "vars.ees_datasets.ks2: title required"),
        (
            lambda d: d["ks2"].update(periods="financial_year"),
            "vars.ees_datasets.ks2.periods: 'financial_year' is not one of ees_period_types (academic_year, calendar_year)",
        ),
        (
            lambda d: d["ks5"]["gate"]["ranges"]["aps_per_entry"].update(max="60"),
            "vars.ees_datasets.ks5.gate.ranges.aps_per_entry.max: expected a number, got '60'",
        ),
        (lambda d: d["neet"].update(headline={"Age": "16-17"}), "vars.ees_datasets.neet.headline: expected lower-case"),
        (lambda d: d.update({"Free-school-meals": d["ks2"]}), "a dataset name must be lower snake case"),
        # the slug becomes a link in dim_measure and every briefing
        (
            lambda d: d["ks2"].update(publication='key-stage-2"><script>'),
            "vars.ees_datasets.ks2.publication: expected the EES publication's slug",
        ),
        # a layout's names become SQL over the file's cells: column names only
        (
            lambda d: d["age19"]["layouts"][0].update(region_name="region); DROP TABLE x; --"),
            "vars.ees_datasets.age19.layouts[0].region_name: expected a lower-case column name",
        ),
        (
            lambda d: d["age19"]["layouts"][0].update(detect=[]),
            "vars.ees_datasets.age19.layouts[0]: detect required",
        ),
        (
            lambda d: d["age19"]["layouts"][0].update(total=5),
            "layouts[0].total: expected the text meaning 'all', got 5",
        ),
    ],
)
def test_a_bad_entry_is_named(edit, message):
    with pytest.raises(PipelineInputError, match="dbt_project/dbt_project.yml: vars") as error:
        registry.read_registry(_with_entry(edit))
    assert message in str(error.value)


def test_the_publication_address_must_be_https():
    variables = copy.deepcopy(dbt_project_vars())
    variables["ees_publication_url"] = "javascript:alert(1)//"
    with pytest.raises(PipelineInputError, match="ees_publication_url: expected an https address ending in '/'"):
        registry.read_registry(variables)


def _new_entry(datasets: dict) -> None:
    datasets["ks5_destinations"] = {
        "title": "16 to 18 destination measures",
        "publication": "16-18-destination-measures",
        "periods": "academic_year",
        "geographic_levels": ["National", "Regional", "Local authority"],
        "required_columns": ["time_period", "time_identifier", "geographic_level", "country_code"],
        "gate": {"percentages": {"min": 0, "max": 100}, "ranges": {"cohort": {"min": 0, "max": 1000000}}},
    }


def test_write_adds_a_new_datasets_files_and_removes_a_removed_ones(tmp_path, monkeypatch):
    """Generated into a scratch tree: a new entry gets its model, YAML and suite; a removed one's
    generated files go, hand-written files beside them stay."""
    staging, expectations = tmp_path / "staging", tmp_path / "expectations"
    monkeypatch.setattr(registry, "STAGING_DIR", staging)
    monkeypatch.setattr(registry, "SOURCES_FILE", staging / "_ees__sources.yml")
    monkeypatch.setattr(registry, "MODELS_FILE", staging / "_stg_ees__models.yml")
    monkeypatch.setattr(registry, "EXPECTATIONS_DIR", expectations)
    monkeypatch.setattr(registry, "REPO_ROOT", tmp_path)
    expectations.mkdir()
    (expectations / "raw_statistical_neighbours.json").write_text('{"name": "raw_statistical_neighbours"}\n')

    with_new = registry.read_registry(_with_entry(_new_entry))
    changes = registry.write(with_new)
    assert "staging/stg_ees__ks5_destinations.sql is missing" in changes and len(changes) == 2 + 2 * 12
    assert registry.differences(with_new) == []
    suite = json.loads((expectations / "raw_ks5_destinations.json").read_text())
    assert _check(suite, "cohort within 0-1000000")["kwargs"]["row_condition"] == 'indicator == "cohort"'
    sources = yaml.safe_load((staging / "_ees__sources.yml").read_text())["sources"][0]["tables"]
    assert sources[-1]["name"] == "ks5_destinations"
    assert sources[-1]["config"]["meta"]["url"].endswith("/find-statistics/16-18-destination-measures")

    without_ks1 = registry.read_registry(_with_entry(lambda d: d.pop("ks1")))
    assert "staging/stg_ees__ks1.sql is left from a dataset no longer in the registry" in registry.differences(
        without_ks1
    )
    registry.write(without_ks1)
    assert not (staging / "stg_ees__ks1.sql").exists() and not (expectations / "raw_ks1.json").exists()
    assert not (staging / "stg_ees__ks5_destinations.sql").exists()
    assert (expectations / "raw_statistical_neighbours.json").exists()
    assert registry.differences(without_ks1) == []


def test_dbt_and_python_read_the_same_headline_values():
    """The headline values of a filter, from dbt's macros (compiled by dbt, run in DuckDB) and from
    the registry's Python view: NEET's age is 16-17, KS4's school_characteristic Total or DfE's
    'State-funded schools (LA)', every other filter Total."""
    pairs = [
        ("neet", "age"),
        ("neet", "sex"),
        ("ks2", "age"),
        ("ks2", "breakdown"),
        ("absence", "school_type"),
        ("ks4", "school_characteristic"),
    ]
    values = ", ".join(f"('{d}', '{f}')" for d, f in pairs)
    sql = (
        "select {{ ees_headline_values_sql('d', 'f') }} as from_sql, "
        + " ".join(
            f"{{{{ \"'\" ~ ees_headline_value('{d}', '{f}') ~ \"'\" }}}} as c{i}," for i, (d, f) in enumerate(pairs)
        )
        + f" 1 as one from (values {values}) as t(d, f)"
    )
    rows = duckdb.sql(compile_inline(sql)).fetchall()
    python = [list(registry.ees_datasets()[d].headline_values(f)) for d, f in pairs]
    assert python == [["16-17"], ["Total"], ["Total"], ["Total"], ["Total"], ["Total", "State-funded schools (LA)"]]
    assert [r[0] for r in rows] == python  # the SQL macro, row by row
    # the Jinja macro staging reads a file without the column as having: the first value
    assert list(rows[0][1:-1]) == [v[0] for v in python]


def test_dbt_and_python_read_catalogue_filters_alike():
    """A catalogue row's `filters` cell, read by dbt's macro (int_measure_values) and by Python (the
    raw gates' list of selected filter columns): every row of the catalogue, and edge cases."""
    cells = sorted({row["filters"] for row in catalogue_rows()}) + [
        "",
        " Sex = Boys ; ;breakdown=Total",
        "a=x=y|b=|c",
        "characteristic=SEN provision;characteristic_type=EHC plan|breakdown=SEN status;sen_status=SEN State EHC",
    ]
    values = ", ".join("('" + c.replace("'", "''") + "')" for c in cells)
    sql = f"select f, {{{{ catalogue_filter_alternatives('f') }}}} as parsed from (values {values}) as t(f)"
    rows = duckdb.sql(compile_inline(sql)).fetchall()
    dbt = {f: [dict(m) for m in parsed] for f, parsed in rows}
    assert dbt == {c: filter_alternatives(c) for c in cells}
    assert filter_alternatives("a=x=y|b=|c") == [{"a": "x=y"}, {"b": ""}, {"c": ""}]
    assert filter_alternatives(" Sex = Boys ; ;breakdown=Total") == [{"sex": "Boys", "breakdown": "Total"}]


def test_national_bounds_are_catalogue_rows_with_their_reason(tmp_path, monkeypatch):
    """The area mart's plausibility bounds come from measure_catalogue.csv (national_min,
    national_max, national_bounds_why): England's real GLD of 51.7 in 2012/13 passes, a bound
    without its reason is refused naming the row, and `make run`'s registry check refuses it."""
    gld = registry.national_bounds()[("eyfs_gld", "all")]
    assert gld.low <= 51.7 <= gld.high
    assert "51.7" in gld.why
    catalogue = (registry.DBT_PROJECT_DIR / "seeds" / "measure_catalogue.csv").read_text(encoding="utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    lines = catalogue.splitlines()
    header = lines[0].split(",")
    assert header[10:13] == ["national_min", "national_max", "national_bounds_why"]
    (seeds / "measure_catalogue.csv").write_text(
        "\n".join([lines[0], "ks2_x,X,ks2,ks2,pt_x,,all,%,high,0,10,90,,,,,"]) + "\n", encoding="utf-8"
    )
    monkeypatch.setattr(registry, "DBT_PROJECT_DIR", tmp_path)
    refused = r"measure_catalogue.csv ks2_x \(all\): national bounds need national_bounds_why"
    with pytest.raises(PipelineInputError, match=refused):
        registry.national_bounds()
    with pytest.raises(PipelineInputError, match=refused):
        registry.differences()


def test_every_lait_code_in_the_catalogue_is_backtested_against_lait():
    """A catalogue row claims LAIT's figure only where a backtest compares it with LAIT: every one is
    in the rebuilt LAIT files (tests/test_backtest_lait.py), so a dataset the fixture does not write
    fails here. Those files are written from the catalogue's own filters, so they check the
    arithmetic and LAIT's comparisons, not DfE's naming: the series DfE's own files carry are
    compared again in tests/test_backtest_real_files.py. Codes are unique, as dim_measure's test
    also holds."""
    from tests.backtest_fixtures import LAIT_MEASURES, catalogue_lait_rows

    rows = catalogue_lait_rows()
    assert rows["lait_code"].is_unique and len(rows) >= 200
    assert set(rows["lait_code"]) == set(LAIT_MEASURES), set(rows["lait_code"]) ^ set(LAIT_MEASURES)
    # LAIT's "all other pupils" for EYFS is not the catalogue's "not FSM eligible" (72.8 vs 71.4)
    assert "FSP_Gooddev_FSM_Other" not in set(rows["lait_code"])


def test_every_catalogue_measure_has_one_definition():
    """The measure_definitions seed is the one home of each measure's methodology note: one row
    per catalogue measure, none for a measure the catalogue lacks, none empty."""
    seeds = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
    definitions = pd.read_csv(seeds / "measure_definitions.csv", dtype=str, keep_default_na=False)
    catalogue = pd.read_csv(seeds / "measure_catalogue.csv", dtype=str, keep_default_na=False)
    assert definitions["measure_code"].is_unique
    assert set(definitions["measure_code"]) == set(catalogue["measure_code"])
    assert (definitions["definition"].str.len() > 40).all()

-- The closing columns every published measure fact shares (fct_la_measure, fct_area_measure):
-- how to read the value, then where it came from. One definition so the two contracts cannot
-- drift apart; `values_alias` is the relation holding the measure rows.

{% macro measure_reading_and_lineage_columns(values_alias) -%}
        cast(polarity as varchar) as polarity,
        cast(unit as varchar) as unit,
        cast(decimal_places as integer) as decimal_places,
        cast(comparability_note as varchar) as comparability_note,
        cast({{ values_alias }}.source_file as varchar) as data_source_file,
        cast({{ values_alias }}.file_sha256 as varchar) as file_sha256,
        cast(landed_files.data_set_id as varchar) as data_set_id,
        cast(landed_files.data_set_version as varchar) as data_set_version,
        cast({{ values_alias }}.value_derivation as varchar) as value_derivation
{%- endmacro %}


-- Each value's EES data set and version come from the landed file it was read from.
{% macro join_landed_files(values_alias) -%}
    left join landed_files
        on {{ values_alias }}.dataset = landed_files.dataset
        and {{ values_alias }}.file_sha256 = landed_files.file_sha256
{%- endmacro %}


-- The key every measure fact starts with.
{% macro measure_period_columns() -%}
        cast(measure_code as varchar) as measure_code,
        cast(breakdown as varchar) as breakdown,
        cast(time_period as integer) as time_period,
        cast(academic_year as varchar) as academic_year
{%- endmacro %}


-- The key of the facts about England and regions (fct_area_measure, fct_release_revisions).
{% macro measure_area_key_columns() -%}
        {{ measure_period_columns() }},
        cast(area_level as varchar) as area_level,
        cast(area_code as varchar) as area_code,
        cast(area_name as varchar) as area_name
{%- endmacro %}

{#- How EES cells are read. Kept in one place so every dataset treats symbols identically. -#}

{#- The cell as number text: trimmed, thousands separators dropped (the ingest heuristic also
    reads '1,234' as a number; EES never uses decimal commas). -#}
{% macro ees_number_text(expr) -%}
    replace(trim({{ expr }}), ',', '')
{%- endmacro %}

{#- True when the cell is a plain number. A regex instead of try_cast because DuckDB would
    happily read 'nan' or 'inf' as doubles, and those are never published statistics. The syntax
    itself is vars.ees_cells.number_pattern (dbt_project.yml), which the ingest and the raw gates
    read too. -#}
{% macro is_ees_number(expr) -%}
    regexp_full_match({{ ees_number_text(expr) }}, '{{ var('ees_cells')['number_pattern'] }}')
{%- endmacro %}

{#- The EES symbols (vars.ees_cells.symbols) as a SQL list of lower-case literals. -#}
{% macro ees_symbol_list() -%}
    ({% for symbol in var('ees_cells')['symbols'] %}'{{ symbol | lower }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A number as published, or NULL. -#}
{% macro parse_ees_value(expr) -%}
    case when {{ is_ees_number(expr) }} then cast({{ ees_number_text(expr) }} as double) end
{%- endmacro %}

{#- EES symbol convention (vars.ees_cells.symbols). Anything unrecognised, including an empty
    cell or 'u', counts as missing rather than failing the build: the status test shows it. -#}
{% macro ees_value_status(expr) -%}
    case
        when {{ is_ees_number(expr) }} then 'published'
        {%- for symbol, status in var('ees_cells')['symbols'].items() %}
        when lower(trim({{ expr }})) = '{{ symbol | lower }}' then '{{ status }}'
        {%- endfor %}
        else 'missing'
    end
{%- endmacro %}

{#- EES 'version' labels vary in case and wording ('Provisional', 'Revised data', 'Final'). -#}
{% macro normalise_release(expr) -%}
    case
        when lower(trim({{ expr }})) like 'prov%' then 'provisional'
        when lower(trim({{ expr }})) like 'rev%' then 'revised'
        when lower(trim({{ expr }})) like 'final%' then 'final'
        when nullif(trim({{ expr }}), '') is not null then lower(trim({{ expr }}))
    end
{%- endmacro %}

{#- Ordering used wherever "the latest release" is picked: final > revised > provisional. -#}
{% macro release_rank(expr) -%}
    case {{ expr }} when 'final' then 3 when 'revised' then 2 when 'provisional' then 1 else 0 end
{%- endmacro %}

{#- 202122 -> '2021/22'; other period formats (calendar years) are shown as they are. -#}
{% macro academic_year(time_period_expr) -%}
    case
        when length(cast({{ time_period_expr }} as varchar)) = 6
            then substr(cast({{ time_period_expr }} as varchar), 1, 4) || '/' || substr(cast({{ time_period_expr }} as varchar), 5, 2)
        else cast({{ time_period_expr }} as varchar)
    end
{%- endmacro %}

{#- Filter values compared the way a person reads them: 'Not  Disadvantaged ' = 'not disadvantaged'. -#}
{% macro normalise_label(expr) -%}
    regexp_replace(lower(trim({{ expr }})), '\s+', ' ', 'g')
{%- endmacro %}

{#- Published figures are decimals, so differences (and neighbour means) are worked out on their
    decimal values and rounded half away from zero, as LAIT's spreadsheets do: 4.62 - 4.57 is 0.05
    and shows as 0.1, whereas the binary doubles give 0.04999999999999982 and round to 0.0.
    DuckDB rounds DECIMALs only to a constant number of places, hence the CASE. -#}
{% macro as_decimal(expr) -%}
    cast({{ expr }} as decimal(38, 10))
{%- endmacro %}

{#- Each branch is cast to DOUBLE on its own: round(DECIMAL, p) has scale p, and a CASE over
    differently scaled DECIMALs would cast every branch to one scale (-22.5 -> -23). -#}
{% macro round_decimal(decimal_expr, places_expr) -%}
    case {{ places_expr }}
        {%- for places in range(0, 7) %} when {{ places }} then cast(round({{ decimal_expr }}, {{ places }}) as double){% endfor %}
    end
{%- endmacro %}

{% macro rounded_difference(minuend, subtrahend, places_expr) -%}
    {{ round_decimal('(' ~ as_decimal(minuend) ~ ' - ' ~ as_decimal(subtrahend) ~ ')', places_expr) }}
{%- endmacro %}

{#- A catalogue row's `filters` cell as a list of maps, one per way DfE's files mark the series:
    alternatives separated by '|', each `column=value` pairs separated by ';' (column names lower
    case, the value everything after the first '='); an empty cell is one empty map, the headline
    row. Python reads the cell the same way (orchestration/lib/rules/catalogue.py
    filter_alternatives); tests/test_registry.py checks they agree. -#}
{% macro catalogue_filter_alternatives(filters_expr) -%}
    list_transform(
        string_split(coalesce({{ filters_expr }}, ''), '|'),
        lambda alternative: map_from_entries(
            list_transform(
                list_filter(string_split(alternative, ';'), lambda pair: trim(pair) <> ''),
                lambda pair: struct_pack(
                    k := lower(trim(split_part(pair, '=', 1))),
                    v := case when strpos(pair, '=') > 0 then trim(substr(pair, strpos(pair, '=') + 1)) else '' end
                )
            )
        )
    )
{%- endmacro %}

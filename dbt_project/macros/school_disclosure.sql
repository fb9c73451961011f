{#- School-level disclosure control and local-file parsing, shared by the school models so the
    threshold and the cell rules are read in one place. -#}

{#- The smallest cohort whose value may be shown. Default 11 (cohorts of 10 or fewer withheld):
    stricter than DfE's performance tables, which withhold 5 or fewer (measured by
    tests/test_backtest_performance_tables.py); EDU_SCHOOL_MIN_COHORT=6 matches DfE. -#}
{% macro school_min_cohort() -%}
    {%- set configured = env_var('EDU_SCHOOL_MIN_COHORT', '11') | trim -%}
    {#- Jinja's int filter turns junk into 0, which would switch suppression off silently. -#}
    {%- if not configured.isdigit() or configured | int < 1 -%}
        {{ exceptions.raise_compiler_error("EDU_SCHOOL_MIN_COHORT must be a whole number of pupils (1 or more), got '" ~ configured ~ "'") }}
    {%- endif -%}
    {{ configured | int }}
{%- endmacro %}

{#- How far an attacker may narrow a withheld school value (secondary suppression): at least
    this many pupil counts must stay possible for a percentage of whole pupils (or every count
    the cohort allows, when fewer: a one-pupil school is 0% or 100% whatever is published) ... -#}
{% macro school_min_possibilities() -%}
    {%- set configured = env_var('EDU_SCHOOL_MIN_POSSIBILITIES', '3') | trim -%}
    {%- if not configured.isdigit() or configured | int < 2 -%}
        {{ exceptions.raise_compiler_error("EDU_SCHOOL_MIN_POSSIBILITIES must be a whole number, 2 or more, got '" ~ configured ~ "'") }}
    {%- endif -%}
    {{ configured | int }}
{%- endmacro %}

{#- ... and the interval the value can lie in must stay at least this share of the measure's range,
    in per cent (10: 10 percentage points of a 0-100% measure, 9 points of Attainment 8's 0-90). -#}
{% macro school_min_interval_percent() -%}
    {%- set configured = env_var('EDU_SCHOOL_MIN_INTERVAL_PERCENT', '10') | trim -%}
    {%- if not configured.isdigit() or configured | int < 1 or configured | int > 100 -%}
        {{ exceptions.raise_compiler_error("EDU_SCHOOL_MIN_INTERVAL_PERCENT must be a whole number from 1 to 100, got '" ~ configured ~ "'") }}
    {%- endif -%}
    {{ configured | int }}
{%- endmacro %}

{#- A local cell as number text: trimmed, thousands commas and a trailing % dropped
    ('1,234', '66%', ' 66 % '). -#}
{% macro local_number_text(expr) -%}
    replace(replace(trim({{ expr }}), ',', ''), '%', '')
{%- endmacro %}

{#- A local cell as a number, or NULL: EES's own number test (is_ees_number) on the cell with
    its % dropped, so 'nan' / 'inf' never read as values. -#}
{% macro parse_local_number(expr) -%}
    case
        when {{ is_ees_number(local_number_text(expr)) }}
            then try_cast(trim({{ local_number_text(expr) }}) as double)
    end
{%- endmacro %}

{#- Published value as text for plain-English sentences: '48%' for percentages, '45.3' for
    scores, to the measure's decimal places. -#}
{% macro format_school_value(value_expr, places_expr, unit_expr) -%}
    (printf('%.' || cast(coalesce({{ places_expr }}, 0) as varchar) || 'f', {{ value_expr }})
        || case when {{ unit_expr }} = '%' then '%' else '' end)
{%- endmacro %}

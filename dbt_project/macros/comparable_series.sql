{#- Comparable series from the comparability_breaks seed, read the same way for LA and school
    values so a school's change is worked out over the same periods as its LA's. -#}

{#- The seed rows that apply to each code of `measure_codes` (a query of distinct
    measure_code): a measure reads the rows of its most specific matching pattern
    (ks4_progress8 beats ks4_%). -#}
{% macro applicable_comparability_breaks(measure_codes) -%}
    select
        measures.measure_code,
        breaks.first_period,
        breaks.last_period,
        breaks.series,
        breaks.note
    from ({{ measure_codes }}) as measures
    inner join (
        select
            *,
            length(replace(measure_pattern, '%', '')) as pattern_specificity
        from {{ ref('comparability_breaks') }}
    ) as breaks
        on measures.measure_code like breaks.measure_pattern
    qualify breaks.pattern_specificity = max(breaks.pattern_specificity) over (partition by measures.measure_code)
{%- endmacro %}

{#- The seed row that gives each measure-period of `measure_periods` (a query of distinct
    measure_code, time_period) its series: of the measure's `breaks` (the CTE above), the row whose
    period range holds the period; none means a continuous series. Worked out once per
    measure-period, which the values then join on both columns: a window over every value row
    (200,000 of the sample's LA values) cost the build most of a second on its critical path. -#}
{% macro period_comparability_breaks(measure_periods, breaks) -%}
    select
        measure_periods.measure_code,
        measure_periods.time_period,
        {{ breaks }}.first_period,
        {{ breaks }}.series,
        {{ breaks }}.note
    from ({{ measure_periods }}) as measure_periods
    inner join {{ breaks }}
        on measure_periods.measure_code = {{ breaks }}.measure_code
        and measure_periods.time_period >= coalesce({{ breaks }}.first_period, 0)
        and measure_periods.time_period <= coalesce({{ breaks }}.last_period, 999999)
    -- Overlapping ranges are a seed error (tested); the narrowest wins so the build still works.
    qualify row_number() over (
        partition by measure_periods.measure_code, measure_periods.time_period
        order by coalesce({{ breaks }}.last_period, 999999) - coalesce({{ breaks }}.first_period, 0)
    ) = 1
{%- endmacro %}

-- Which comparable series each measure-period belongs to, from the comparability_breaks seed.
-- A measure reads the rows of the most specific pattern that matches it (ks4_progress8 beats
-- ks4_%); within that pattern the row whose period range holds the period applies. A row with
-- no series marks years that were not published / not comparable with anything.
with

measure_values as (

    select * from {{ ref('int_measure_latest_selected') }}

),

breaks as (

    select
        *,
        length(replace(measure_pattern, '%', '')) as pattern_specificity
    from {{ ref('comparability_breaks') }}

),

measure_patterns as (

    select
        measures.measure_code,
        max(breaks.pattern_specificity) as pattern_specificity
    from (select distinct measure_code from measure_values) as measures
    inner join breaks
        on measures.measure_code like breaks.measure_pattern
    group by measures.measure_code

),

applicable_breaks as (

    select
        measure_patterns.measure_code,
        breaks.first_period,
        breaks.last_period,
        breaks.series,
        breaks.note
    from measure_patterns
    inner join breaks
        on measure_patterns.measure_code like breaks.measure_pattern
        and measure_patterns.pattern_specificity = breaks.pattern_specificity

),

assigned as (

    select
        measure_values.*,
        applicable_breaks.measure_code is not null as has_break_row,
        applicable_breaks.series as break_series,
        applicable_breaks.first_period as series_row_first_period,
        applicable_breaks.note as break_note
    from measure_values
    left join applicable_breaks
        on measure_values.measure_code = applicable_breaks.measure_code
        and measure_values.time_period >= coalesce(applicable_breaks.first_period, 0)
        and measure_values.time_period <= coalesce(applicable_breaks.last_period, 999999)
    -- Overlapping ranges are a seed error (tested); the narrowest wins so the build still works.
    qualify row_number() over (
        partition by measure_values.measure_code, measure_values.breakdown, measure_values.area_level,
            measure_values.area_code, measure_values.time_period
        order by coalesce(applicable_breaks.last_period, 999999) - coalesce(applicable_breaks.first_period, 0)
    ) = 1

),

final as (

    select
        * exclude (has_break_row, break_series, series_row_first_period, break_note),
        -- Measures with no comparability rows form one continuous series.
        case when has_break_row then break_series else 'continuous' end as comparable_series,
        -- The seed's note is shown on the first period of its range: a new series or the
        -- first year back after a gap.
        case when time_period = series_row_first_period then break_note end as series_note
    from assigned

)

select * from final

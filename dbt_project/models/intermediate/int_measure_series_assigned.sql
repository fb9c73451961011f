-- Which comparable series each measure-period belongs to, from the comparability_breaks seed.
-- A measure reads the rows of the most specific pattern that matches it (ks4_progress8 beats
-- ks4_%); within that pattern the row whose period range holds the period applies. A row with
-- no series marks years that were not published / not comparable with anything.
with

measure_values as (

    select * from {{ ref('int_measure_latest_selected') }}

),

applicable_breaks as (

    {{ applicable_comparability_breaks('select distinct measure_code from measure_values') }}

),

period_breaks as (

    {{ period_comparability_breaks('select distinct measure_code, time_period from measure_values', 'applicable_breaks') }}

),

assigned as (

    select
        measure_values.*,
        period_breaks.measure_code is not null as has_break_row,
        period_breaks.series as break_series,
        period_breaks.first_period as series_row_first_period,
        period_breaks.note as break_note
    from measure_values
    left join period_breaks
        on
            measure_values.measure_code = period_breaks.measure_code
            and measure_values.time_period = period_breaks.time_period

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

-- The disadvantage gap (disadvantaged minus not disadvantaged) for measures the catalogue
-- splits that way, per area and period, with its change since the previous comparable period.
-- Both halves must be published; the gap is rounded to the measure's decimal places because
-- the inputs are already rounded and float noise would otherwise show (e.g. -20.000000001).
with

measure_values as (

    select * from {{ ref('int_measure_series_assigned') }}

),

paired as (

    select
        measure_code,
        area_level,
        area_code,
        time_period,
        any_value(comparable_series) as comparable_series,
        any_value(decimal_places) as decimal_places,
        max(case when breakdown = 'disadvantaged' and value_status = 'published' then value end) as disadvantaged_value,
        max(case when breakdown = 'not_disadvantaged' and value_status = 'published' then value end) as not_disadvantaged_value
    from measure_values
    where breakdown in ('disadvantaged', 'not_disadvantaged')
    group by measure_code, area_level, area_code, time_period

),

with_gap as (

    select
        *,
        round(disadvantaged_value - not_disadvantaged_value, decimal_places) as disadvantage_gap
    from paired

),

final as (

    select
        *,
        case when comparable_series is not null then
            last_value(case when disadvantage_gap is not null then time_period end ignore nulls) over earlier_in_series
        end as previous_time_period,
        case when comparable_series is not null then
            last_value(disadvantage_gap ignore nulls) over earlier_in_series
        end as previous_disadvantage_gap,
        round(
            disadvantage_gap
            - case when comparable_series is not null then last_value(disadvantage_gap ignore nulls) over earlier_in_series end,
            decimal_places
        ) as disadvantage_gap_change_vs_previous
    from with_gap
    window earlier_in_series as (
        partition by measure_code, area_level, area_code, comparable_series
        order by time_period
        rows between unbounded preceding and 1 preceding
    )

)

select * from final

-- The attainment gap for measures the catalogue splits into a disadvantaged group and the rest,
-- per area and period, with its change since the previous comparable period. Two splits are
-- published: disadvantage (disadvantaged / not_disadvantaged, most phases) and free school meals
-- (fsm_eligible / not_fsm_eligible, age 19). They are different definitions, so each is its own
-- gap_type and never mixed.
-- Both halves must be published: a gap beside a suppressed half would disclose it. The gap is
-- worked out on the published decimals and rounded to the measure's decimal places
-- (macros/ees_values.sql: rounded_difference).
with

measure_values as (

    select * from {{ ref('int_measure_series_assigned') }}

),

gap_types as (

    select * from (
        values
        ('disadvantage', 'disadvantaged', 'not_disadvantaged'),
        ('fsm', 'fsm_eligible', 'not_fsm_eligible')
    ) as t (gap_type, group_breakdown, comparison_breakdown)

),

paired as (

    select
        measure_values.measure_code,
        gap_types.gap_type,
        measure_values.area_level,
        measure_values.area_code,
        measure_values.time_period,
        any_value(measure_values.comparable_series) as comparable_series,
        any_value(measure_values.decimal_places) as decimal_places,
        max(case
            when measure_values.breakdown = gap_types.group_breakdown and measure_values.value_status = 'published'
                then measure_values.value
        end) as disadvantaged_value,
        max(case
            when measure_values.breakdown = gap_types.comparison_breakdown and measure_values.value_status = 'published'
                then measure_values.value
        end) as not_disadvantaged_value
    from measure_values
    inner join gap_types
        on measure_values.breakdown in (gap_types.group_breakdown, gap_types.comparison_breakdown)
    group by
        measure_values.measure_code, gap_types.gap_type, measure_values.area_level,
        measure_values.area_code, measure_values.time_period

),

with_gap as (

    select
        *,
        {{ rounded_difference('disadvantaged_value', 'not_disadvantaged_value', 'decimal_places') }} as disadvantage_gap
    from paired

),

final as (

    select
        *,
        case
            when comparable_series is not null then
                last_value(case when disadvantage_gap is not null then time_period end ignore nulls) over earlier_in_series
        end as previous_time_period,
        case
            when comparable_series is not null then
                last_value(disadvantage_gap ignore nulls) over earlier_in_series
        end as previous_disadvantage_gap,
        {{ rounded_difference(
            'disadvantage_gap',
            'case when comparable_series is not null then last_value(disadvantage_gap ignore nulls) over earlier_in_series end',
            'decimal_places'
        ) }} as disadvantage_gap_change_vs_previous
    from with_gap
    window earlier_in_series as (
        partition by measure_code, gap_type, area_level, area_code, comparable_series
        order by time_period
        rows between unbounded preceding and 1 preceding
    )

)

select * from final

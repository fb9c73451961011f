-- Each school value with its last comparable period, the change since it and whether the last
-- two changes were both for the worse. Catalogue measures follow the comparability_breaks seed
-- exactly as the LA series do (KS4 2021/22 compares with 2018/19); local termly measures compare
-- with the same term a year earlier. The previous period is the one before in the series the
-- data covers, whatever this school's status there: a withheld year is never skipped over, so a
-- change is only ever shown between two published values of consecutive comparable periods.
with

school_values as (

    select * from {{ ref('int_school_values_suppressed') }}

),

-- The same macros as int_measure_series_assigned, so a school's series breaks where its LA's
-- do: a measure reads the rows of its most specific matching pattern, and the row whose range
-- holds the period gives the series.
applicable_breaks as (

    {{ applicable_comparability_breaks('select distinct measure_code from school_values where is_catalogue_measure') }}

),

period_breaks as (

    {{ period_comparability_breaks(
        'select distinct measure_code, time_period from school_values where is_catalogue_measure',
        'applicable_breaks'
    ) }}

),

series_assigned as (

    select
        school_values.*,
        school_values.time_identifier like '% term' as is_termly,
        case
            when not school_values.is_catalogue_measure then 'local'
            when period_breaks.measure_code is null then 'continuous'
            else period_breaks.series
        end as comparable_series,
        case
            when school_values.value_status = 'published'
                then {{ round_decimal(as_decimal('school_values.unsuppressed_value'), 'school_values.decimal_places') }}
        end as published_value
    from school_values
    left join period_breaks
        on
            school_values.measure_code = period_breaks.measure_code
            and school_values.time_period = period_breaks.time_period

),

-- The periods each measure's series covers (any school), one step and two steps back.
period_sequence as (

    select
        measure_code,
        time_identifier,
        comparable_series,
        is_termly,
        time_period,
        lag(time_period, 1) over series_periods as lag1_period,
        lag(time_period, 2) over series_periods as lag2_period
    from (
        select distinct measure_code, time_identifier, comparable_series, is_termly, time_period
        from series_assigned
        where comparable_series is not null
    ) as periods
    window series_periods as (partition by measure_code, time_identifier, comparable_series order by time_period)

),

-- A term compares only with the same term exactly one year earlier (202324 -> 202223).
previous_periods as (

    select
        measure_code,
        time_identifier,
        comparable_series,
        time_period,
        case when not is_termly or lag1_period = time_period - 101 then lag1_period end as previous_time_period,
        case
            when not is_termly then lag2_period
            when lag1_period = time_period - 101 and lag2_period = time_period - 202 then lag2_period
        end as second_previous_time_period
    from period_sequence

),

joined as (

    select
        series_assigned.*,
        previous_periods.previous_time_period,
        previous_periods.second_previous_time_period,
        previous_values.published_value as previous_value,
        previous_values.value_status as previous_value_status,
        second_previous_values.published_value as second_previous_value,
        second_previous_values.value_status as second_previous_value_status
    from series_assigned
    left join previous_periods
        on
            series_assigned.measure_code = previous_periods.measure_code
            and series_assigned.time_identifier is not distinct from previous_periods.time_identifier
            and series_assigned.comparable_series = previous_periods.comparable_series
            and series_assigned.time_period = previous_periods.time_period
    left join series_assigned as previous_values
        on
            {{ same_school_series('series_assigned', 'previous_values') }}
            and previous_values.time_period = previous_periods.previous_time_period
    left join series_assigned as second_previous_values
        on
            {{ same_school_series('series_assigned', 'second_previous_values') }}
            and second_previous_values.time_period = previous_periods.second_previous_time_period

),

changes as (

    select
        *,
        {{ school_difference('published_value', 'previous_value', 'decimal_places') }} as change,
        {{ school_difference('previous_value', 'second_previous_value', 'decimal_places') }} as previous_change
    from joined

),

-- The schools' own LA figure for local measures: sum of numerators over sum of denominators
-- (or the cohort-weighted mean). It includes withheld schools, which secondary suppression made
-- safe; it is not shown when a source-suppressed value is missing from the sum (the total
-- would then give away the withheld schools that are in it) or when no withheld set is safe.
la_aggregates as (

    select
        old_la_code,
        measure_code,
        time_period,
        time_identifier,
        case
            when bool_or(group_has_unknown_value) or not bool_and(is_group_total_safe) then null
            when bool_and(uses_numerator_denominator) then sum(numerator) / nullif(sum(denominator), 0) * 100
            else sum(unsuppressed_value * cohort) / nullif(sum(cast(cohort as double)), 0)
        end as la_aggregate_unrounded,
        any_value(decimal_places) as decimal_places
    from school_values
    where value_status <> 'not_available'
    group by old_la_code, measure_code, time_period, time_identifier

),

final as (

    select
        changes.* exclude (previous_change),
        -- Both changes for the worse given polarity; NULL unless all three values are published.
        case
            when change is not null and previous_change is not null then
                {{ is_worse('change', 'polarity') }} and {{ is_worse('previous_change', 'polarity') }}
        end as declining_two_years,
        previous_change,
        {{ round_decimal(as_decimal('la_aggregates.la_aggregate_unrounded'), 'la_aggregates.decimal_places') }} as school_aggregate_la_value
    from changes
    left join la_aggregates
        on
            changes.old_la_code is not distinct from la_aggregates.old_la_code
            and changes.measure_code = la_aggregates.measure_code
            and changes.time_period = la_aggregates.time_period
            and changes.time_identifier is not distinct from la_aggregates.time_identifier

)

select * from final

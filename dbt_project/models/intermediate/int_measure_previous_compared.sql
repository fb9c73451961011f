-- Year-on-year comparison within a comparable series: the previous period is the latest earlier
-- period of the same series with a published value, so unpublished or suppressed years are
-- skipped (and named in the note) and years in another series are never compared with.
with

series_assigned as (

    select * from {{ ref('int_measure_series_assigned') }}

),

windowed as (

    select
        *,
        last_value(case when value_status = 'published' then time_period end ignore nulls)
            over earlier_in_series as previous_candidate_period,
        last_value(case when value_status = 'published' then value end ignore nulls)
            over earlier_in_series as previous_candidate_value,
        list(struct_pack(time_period := time_period, academic_year := academic_year, value_status := value_status))
            over earlier_in_series as earlier_periods
    from series_assigned
    window earlier_in_series as (
        partition by measure_code, breakdown, area_level, area_code, comparable_series
        order by time_period
        rows between unbounded preceding and 1 preceding
    )

),

with_previous as (

    select
        * exclude (previous_candidate_period, previous_candidate_value, earlier_periods),
        -- Periods outside any series (not published / not comparable) compare with nothing.
        case when comparable_series is not null then previous_candidate_period end as previous_time_period,
        case when comparable_series is not null then previous_candidate_value end as previous_value,
        case
            when comparable_series is not null then
                list_filter(earlier_periods, lambda e: e.time_period > coalesce(previous_candidate_period, 0))
        end as skipped_periods
    from windowed

),

with_gap_note as (

    select
        *,
        case
            when len(skipped_periods) > 0 then
                case
                    when previous_time_period is not null
                        then 'Compared with ' || {{ academic_year('previous_time_period') }} || ': no published value for '
                    else 'No earlier comparable published value: none for '
                end
                || array_to_string(
                    list_transform(skipped_periods, lambda e: e.academic_year || ' (' || replace(e.value_status, '_', ' ') || ')'),
                    ', '
                ) || '.'
        end as gap_note
    from with_previous

),

final as (

    select
        * exclude (skipped_periods, gap_note, series_note),
        {{ rounded_difference('value', 'previous_value', 'decimal_places') }} as change_vs_previous,
        nullif(concat_ws(' ', series_note, gap_note), '') as comparability_note
    from with_gap_note

)

select * from final

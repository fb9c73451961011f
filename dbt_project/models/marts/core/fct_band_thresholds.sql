-- The quartile thresholds behind fct_la_measure's quartile_band, per measure, breakdown and
-- period, so a BI tool can show each band's range as LAIT does. Worked out from published LA
-- values only, as the bands are; suppressed values play no part.
with

ranked as (

    select * from {{ ref('int_la_measure_ranked') }}

),

final as (

    select
        cast(measure_code as varchar) as measure_code,
        cast(breakdown as varchar) as breakdown,
        cast(time_period as integer) as time_period,
        cast({{ academic_year('time_period') }} as varchar) as academic_year,
        cast(any_value(polarity) as varchar) as polarity,
        cast(any_value(ranked_count) as integer) as ranked_count,
        cast(min(value) as double) as lowest_value,
        cast(any_value(q1) as double) as q1,
        cast(any_value(q2) as double) as q2,
        cast(any_value(q3) as double) as q3,
        cast(max(value) as double) as highest_value
    from ranked
    where rank is not null
    group by measure_code, breakdown, time_period

)

select * from final

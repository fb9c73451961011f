-- The quartile thresholds behind fct_la_measure's quartile_band, per measure, breakdown and
-- period, and each band's range as LAIT shows it, so a BI tool can show both. Worked out from
-- published LA values only, as the bands are; suppressed values play no part.
with

ranked as (

    select * from {{ ref('int_la_measure_ranked') }}

),

measures as (

    select * from {{ ref('dim_measure') }}

),

thresholds as (

    select
        measure_code,
        breakdown,
        time_period,
        any_value(polarity) as polarity,
        any_value(ranked_count) as ranked_count,
        min(value) as lowest_value,
        any_value(q1) as q1,
        any_value(q2) as q2,
        any_value(q3) as q3,
        max(value) as highest_value
    from ranked
    where rank is not null
    group by measure_code, breakdown, time_period

),

-- A band's range in published figures: values carry decimal_places decimals, so the largest
-- value at or below a threshold q is floor(q) at that precision, and the smallest above it is
-- one step more. Worked in whole steps (a decimal, not binary floating point) so 0.29 stays 0.29.
steps as (

    select
        thresholds.*,
        measures.decimal_places,
        cast(pow(10, measures.decimal_places) as bigint) as scale,
        floor(cast(thresholds.q1 as decimal(38, 9)) * cast(pow(10, measures.decimal_places) as bigint)) as q1_step,
        floor(cast(thresholds.q2 as decimal(38, 9)) * cast(pow(10, measures.decimal_places) as bigint)) as q2_step,
        floor(cast(thresholds.q3 as decimal(38, 9)) * cast(pow(10, measures.decimal_places) as bigint)) as q3_step,
        round(cast(thresholds.lowest_value as decimal(38, 9)) * cast(pow(10, measures.decimal_places) as bigint))
            as lowest_step,
        round(cast(thresholds.highest_value as decimal(38, 9)) * cast(pow(10, measures.decimal_places) as bigint))
            as highest_step
    from thresholds
    inner join measures
        on
            thresholds.measure_code = measures.measure_code
            and thresholds.breakdown = measures.breakdown

),

-- "from to" as LAIT writes a band: best end first (high polarity runs from the highest value).
ranges as (

    select
        *,
        {% set shown = "format('{:.{}f}', STEP / scale, decimal_places)" %}
        case
            when polarity = 'low'
                then {{ shown | replace('STEP', 'lowest_step') }} || ' to ' || {{ shown | replace('STEP', 'q1_step') }}
            else {{ shown | replace('STEP', 'highest_step') }} || ' to ' || {{ shown | replace('STEP', '(q3_step + 1)') }}
        end as band_a_range,
        case
            when polarity = 'low'
                then {{ shown | replace('STEP', '(q1_step + 1)') }} || ' to ' || {{ shown | replace('STEP', 'q2_step') }}
            else {{ shown | replace('STEP', 'q3_step') }} || ' to ' || {{ shown | replace('STEP', '(q2_step + 1)') }}
        end as band_b_range,
        case
            when polarity = 'low'
                then {{ shown | replace('STEP', '(q2_step + 1)') }} || ' to ' || {{ shown | replace('STEP', 'q3_step') }}
            else {{ shown | replace('STEP', 'q2_step') }} || ' to ' || {{ shown | replace('STEP', '(q1_step + 1)') }}
        end as band_c_range,
        case
            when polarity = 'low'
                then {{ shown | replace('STEP', '(q3_step + 1)') }} || ' to ' || {{ shown | replace('STEP', 'highest_step') }}
            else {{ shown | replace('STEP', 'q1_step') }} || ' to ' || {{ shown | replace('STEP', 'lowest_step') }}
        end as band_d_range
    from steps

),

final as (

    select
        cast(measure_code as varchar) as measure_code,
        cast(breakdown as varchar) as breakdown,
        cast(time_period as integer) as time_period,
        cast({{ academic_year('time_period') }} as varchar) as academic_year,
        cast(polarity as varchar) as polarity,
        cast(ranked_count as integer) as ranked_count,
        cast(lowest_value as double) as lowest_value,
        cast(q1 as double) as q1,
        cast(q2 as double) as q2,
        cast(q3 as double) as q3,
        cast(highest_value as double) as highest_value,
        cast(decimal_places as integer) as decimal_places,
        cast(band_a_range as varchar) as band_a_range,
        cast(band_b_range as varchar) as band_b_range,
        cast(band_c_range as varchar) as band_c_range,
        cast(band_d_range as varchar) as band_d_range
    from ranges

)

select * from final

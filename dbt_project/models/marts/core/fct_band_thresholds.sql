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
    -- a measure ranked but not banded (catalogue no_quartile_band) has no thresholds to show
    where rank is not null and quartile_band is not null
    group by measure_code, breakdown, time_period

),

-- A band's range as LAIT shows it beside the band: from the best to the weakest figure of the
-- LAs in it, each as published (rounded to decimal_places), so every LA's figure lies within
-- its band's range as shown. Published figures only; an empty band has none.
band_members as (

    select
        ranked.measure_code,
        ranked.breakdown,
        ranked.time_period,
        ranked.quartile_band,
        any_value(ranked.polarity) as polarity,
        any_value(measures.decimal_places) as decimal_places,
        min({{ round_decimal(as_decimal('ranked.value'), 'measures.decimal_places') }}) as lowest_shown,
        max({{ round_decimal(as_decimal('ranked.value'), 'measures.decimal_places') }}) as highest_shown
    from ranked
    inner join measures
        on
            ranked.measure_code = measures.measure_code
            and ranked.breakdown = measures.breakdown
    where ranked.rank is not null
    group by ranked.measure_code, ranked.breakdown, ranked.time_period, ranked.quartile_band

),

-- best end first: the highest figure first where higher is better
band_ranges as (

    select
        measure_code,
        breakdown,
        time_period,
        any_value(decimal_places) as decimal_places,
        max(shown_range) filter (where quartile_band = 'A') as band_a_range,
        max(shown_range) filter (where quartile_band = 'B') as band_b_range,
        max(shown_range) filter (where quartile_band = 'C') as band_c_range,
        max(shown_range) filter (where quartile_band = 'D') as band_d_range
    from (
        select
            *,
            case
                when polarity = 'low'
                    then
                        format('{:.{}f}', lowest_shown, decimal_places)
                        || ' to ' || format('{:.{}f}', highest_shown, decimal_places)
                else
                    format('{:.{}f}', highest_shown, decimal_places)
                    || ' to ' || format('{:.{}f}', lowest_shown, decimal_places)
            end as shown_range
        from band_members
    ) as shown
    group by measure_code, breakdown, time_period

),

ranges as (

    select
        thresholds.*,
        band_ranges.decimal_places,
        band_ranges.band_a_range,
        band_ranges.band_b_range,
        band_ranges.band_c_range,
        band_ranges.band_d_range
    from thresholds
    inner join band_ranges
        on
            thresholds.measure_code = band_ranges.measure_code
            and thresholds.breakdown = band_ranges.breakdown
            and thresholds.time_period = band_ranges.time_period

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

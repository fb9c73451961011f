{{ config(meta={"dagster": {"ref": {"name": "fct_band_thresholds"}}}) }}

-- Every LA's figure as published (rounded to its decimal places) lies within the range
-- fct_band_thresholds shows for its band: the ranges a BI tool or the briefing shows never
-- contradict the bands. Returns the LAs outside.
with

thresholds as (

    select * from {{ ref('fct_band_thresholds') }}

),

la_values as (

    select * from {{ ref('fct_la_measure') }}
    where quartile_band is not null

),

shown as (

    select
        la_values.measure_code,
        la_values.breakdown,
        la_values.time_period,
        la_values.old_la_code,
        {{ round_decimal(as_decimal('la_values.value'), 'la_values.decimal_places') }} as value,
        la_values.quartile_band,
        string_split(
            case la_values.quartile_band
                when 'A' then thresholds.band_a_range
                when 'B' then thresholds.band_b_range
                when 'C' then thresholds.band_c_range
                else thresholds.band_d_range
            end,
            ' to '
        ) as bounds
    from la_values
    inner join thresholds
        on
            la_values.measure_code = thresholds.measure_code
            and la_values.breakdown = thresholds.breakdown
            and la_values.time_period = thresholds.time_period

)

select *
from shown
where
    value < least(cast(bounds[1] as double), cast(bounds[2] as double))
    or value > greatest(cast(bounds[1] as double), cast(bounds[2] as double))

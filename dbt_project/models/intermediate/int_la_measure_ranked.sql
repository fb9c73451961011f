-- Rank and LAIT quartile band of each LA's value among LAs with a published value for the same
-- measure, breakdown and period. Unpublished LA rows are kept with no rank and no band, and so
-- are the catalogue rows marked no_quartile_band (ranked, not banded).
with

measure_values as (

    select * from {{ ref('int_measure_latest_selected') }}

),

unbanded as (

    select measure_code, breakdown from {{ ref('measure_catalogue') }}
    where no_quartile_band

),

la_values as (

    select
        measure_code,
        breakdown,
        time_period,
        area_code as old_la_code,
        value,
        value_status,
        polarity
    from measure_values
    where area_level = 'local_authority'

),

published as (

    select * from la_values
    where value_status = 'published' and value is not null

),

-- Rounded to 9 dp so a value sitting exactly on an interpolated boundary (e.g. 61.5) is not
-- pushed to the other side by binary floating point.
quartiles as (

    select
        measure_code,
        breakdown,
        time_period,
        round(quantile_cont(value, 0.25), 9) as q1,
        round(quantile_cont(value, 0.50), 9) as q2,
        round(quantile_cont(value, 0.75), 9) as q3,
        count(*) as ranked_count
    from published
    group by measure_code, breakdown, time_period

),

-- RANK(): ties share the best position and the next rank is skipped, as DfE tables do.
ranked as (

    select
        measure_code,
        breakdown,
        time_period,
        old_la_code,
        rank() over (
            partition by measure_code, breakdown, time_period
            order by case when polarity = 'low' then value else -value end
        ) as rank
    from published

),

final as (

    select
        la_values.measure_code,
        la_values.breakdown,
        la_values.time_period,
        la_values.old_la_code,
        la_values.value,
        la_values.value_status,
        la_values.polarity,
        cast(ranked.rank as integer) as rank,
        cast(coalesce(quartiles.ranked_count, 0) as integer) as ranked_count,
        quartiles.q1,
        quartiles.q2,
        quartiles.q3,
        case
            when ranked.rank is null or unbanded.measure_code is not null then null
            when la_values.polarity = 'low'
                then
                    case
                        when la_values.value <= quartiles.q1 then 'A'
                        when la_values.value <= quartiles.q2 then 'B'
                        when la_values.value <= quartiles.q3 then 'C'
                        else 'D'
                    end
            when la_values.value > quartiles.q3 then 'A'
            when la_values.value > quartiles.q2 then 'B'
            when la_values.value > quartiles.q1 then 'C'
            else 'D'
        end as quartile_band
    from la_values
    left join ranked
        on
            la_values.measure_code = ranked.measure_code
            and la_values.breakdown = ranked.breakdown
            and la_values.time_period = ranked.time_period
            and la_values.old_la_code = ranked.old_la_code
    left join quartiles
        on
            la_values.measure_code = quartiles.measure_code
            and la_values.breakdown = quartiles.breakdown
            and la_values.time_period = quartiles.time_period
    left join unbanded
        on
            la_values.measure_code = unbanded.measure_code
            and la_values.breakdown = unbanded.breakdown

)

select * from final

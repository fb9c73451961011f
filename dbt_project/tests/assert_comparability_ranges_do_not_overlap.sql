-- Two rows of one pattern covering the same period would make the series of that period
-- ambiguous; the model picks the narrower range, but the seed should say what it means.
with breaks as (

    select
        measure_pattern,
        coalesce(first_period, 0) as first_period,
        coalesce(last_period, 999999) as last_period
    from {{ ref('comparability_breaks') }}

)

select a.measure_pattern, a.first_period, a.last_period, b.first_period as overlapping_first_period
from breaks as a
inner join breaks as b
    on
        a.measure_pattern = b.measure_pattern
        and a.first_period < b.first_period
        and a.last_period >= b.first_period

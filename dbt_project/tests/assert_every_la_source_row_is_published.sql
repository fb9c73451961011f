-- The published contract (docs/architecture.md): every LA row present in the source appears in fct_la_measure, published
-- or not (a suppressed cell keeps its row with a NULL value).
-- A check on marts/fct_la_measure: a singular test with two parents names its model (dagster ref) to be
-- a Dagster asset check (a blocking gate like every other dbt test) rather than an observation.
{{ config(meta={'dagster': {'ref': {'name': 'fct_la_measure'}}}) }}
select latest.measure_code, latest.breakdown, latest.time_period, latest.area_code
from {{ ref('int_measure_latest_selected') }} as latest
left join {{ ref('fct_la_measure') }} as published
    on
        latest.measure_code = published.measure_code
        and latest.breakdown = published.breakdown
        and latest.time_period = published.time_period
        and latest.area_code = published.old_la_code
where
    latest.area_level = 'local_authority'
    and published.old_la_code is null

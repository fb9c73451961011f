-- Ranks and bands describe published values only; a suppressed LA must not be placed. Every
-- ranked value has a band, except those of the catalogue rows marked no_quartile_band, which
-- have none. It reads the catalogue too, so Dagster is told which asset it checks.
{{ config(meta={'dagster': {'ref': {'name': 'fct_la_measure'}}}) }}

with

la_measures as (

    select * from {{ ref('fct_la_measure') }}

),

catalogue as (

    select * from {{ ref('measure_catalogue') }}

),

final as (

    select
        la_measures.measure_code,
        la_measures.breakdown,
        la_measures.time_period,
        la_measures.old_la_code,
        la_measures.value_status,
        la_measures.rank,
        la_measures.quartile_band
    from la_measures
    left join catalogue
        on
            la_measures.measure_code = catalogue.measure_code
            and la_measures.breakdown = catalogue.breakdown
    where
        (la_measures.value_status = 'published') <> (la_measures.rank is not null)
        or (la_measures.rank is not null and not coalesce(catalogue.no_quartile_band, false))
        <> (la_measures.quartile_band is not null)
        or la_measures.rank > la_measures.ranked_count

)

select * from final

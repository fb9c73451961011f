-- The measure catalogue as published, with each measure's definition (measure_definitions), how
-- its years compare (comparability_breaks), which periods the data covers and the DfE publication
-- it is read from (vars.ees_datasets, the dataset registry).
with

catalogue as (

    select * from {{ ref('measure_catalogue') }}

),

definitions as (

    select * from {{ ref('measure_definitions') }}

),

breaks as (

    select
        *,
        length(replace(measure_pattern, '%', '')) as pattern_specificity
    from {{ ref('comparability_breaks') }}

),

measure_values as (

    select * from {{ ref('int_measure_latest_selected') }}

),

releases as (

    select * from {{ ref('stg_ingest__publication_releases') }}

),

-- The registry's title and EES publication of each dataset, and the publication of each measure
-- worked out from local files (vars.local_publications), written from the vars as literals.
publications as (

    select * from (
        values
        {%- for dataset, entry in var('ees_datasets').items() %}
            (
                '{{ dataset | replace("'", "''") }}',
                'Department for Education',
                '{{ entry.title | trim | replace("'", "''") }}',
                '{{ (var('ees_publication_url') ~ entry.publication | trim) | replace("'", "''") }}',
                '{{ entry.publication | trim | replace("'", "''") }}'
            ),
        {%- endfor %}
        {%- for dataset, entry in var('local_publications').items() %}
            (
                '{{ dataset | replace("'", "''") }}',
                '{{ entry.publisher | trim | replace("'", "''") }}',
                '{{ entry.title | trim | replace("'", "''") }}',
                '{{ entry.url | trim | replace("'", "''") }}',
                null
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as registry (dataset, publisher, publication_title, publication_url, publication_slug)

),

-- Same rule as int_measure_series_assigned: the most specific matching pattern applies.
applicable_breaks as (

    select
        catalogue.measure_code,
        breaks.first_period,
        breaks.last_period,
        breaks.series,
        breaks.note
    from (select distinct measure_code from catalogue) as catalogue
    inner join breaks
        on catalogue.measure_code like breaks.measure_pattern
    qualify breaks.pattern_specificity = max(breaks.pattern_specificity) over (partition by catalogue.measure_code)

),

series_starts as (

    select
        measure_code,
        series,
        min(coalesce(first_period, 0)) as first_period
    from applicable_breaks
    where series is not null
    group by measure_code, series

),

comparability as (

    select
        applicable_breaks.measure_code,
        string_agg(applicable_breaks.note, ' ' order by coalesce(applicable_breaks.first_period, 0))
        filter (where applicable_breaks.note is not null) as comparability_notes,
        any_value(series_lists.comparable_series) as comparable_series
    from applicable_breaks
    left join (  -- noqa: ST05
        select measure_code, list(series order by first_period) as comparable_series
        from series_starts
        group by measure_code
    ) as series_lists
        on applicable_breaks.measure_code = series_lists.measure_code
    group by applicable_breaks.measure_code

),

coverage as (

    select
        measure_code,
        breakdown,
        min(time_period) as first_time_period,
        max(time_period) as latest_time_period,
        count(distinct time_period) as period_count,
        -- the most authoritative release any area's latest-period figure comes from
        arg_max(release, time_period * 10 + release_rank) as latest_release
    from measure_values
    group by measure_code, breakdown

),

final as (

    select
        cast(catalogue.measure_code as varchar) as measure_code,
        cast(catalogue.breakdown as varchar) as breakdown,
        cast(catalogue.measure_name as varchar) as measure_name,
        cast(definitions.definition as varchar) as definition,
        cast(catalogue.phase as varchar) as phase,
        cast(catalogue.dataset as varchar) as dataset,
        cast(catalogue.indicator_column as varchar) as indicator_column,
        cast(catalogue.filters as varchar) as filters,
        cast(catalogue.unit as varchar) as unit,
        cast(catalogue.polarity as varchar) as polarity,
        cast(catalogue.decimal_places as integer) as decimal_places,
        cast(catalogue.lait_code as varchar) as lait_code,
        cast(not coalesce(catalogue.no_quartile_band, false) as boolean) as quartile_banded,
        cast(comparability.comparability_notes as varchar) as comparability_notes,
        cast(coalesce(comparability.comparable_series, ['continuous']) as varchar[]) as comparable_series,
        cast(coverage.first_time_period as integer) as first_time_period,
        cast(coverage.latest_time_period as integer) as latest_time_period,
        cast(coalesce(coverage.period_count, 0) as integer) as period_count,
        cast(coverage.latest_release as varchar) as latest_release,
        cast(publications.publisher as varchar) as source_publisher,
        cast(publications.publication_title as varchar) as source_publication,
        cast(publications.publication_url as varchar) as source_url,
        cast(releases.latest_release_title as varchar) as latest_release_title,
        cast(releases.latest_release_published as date) as latest_release_published,
        cast(releases.next_release as varchar) as next_release,
        cast(releases.methodology_title as varchar) as methodology_title,
        cast(releases.methodology_url as varchar) as methodology_url,
        cast(releases.checked_on as date) as release_dates_checked_on
    from catalogue
    left join definitions
        on catalogue.measure_code = definitions.measure_code
    left join comparability
        on catalogue.measure_code = comparability.measure_code
    left join coverage
        on
            catalogue.measure_code = coverage.measure_code
            and catalogue.breakdown = coverage.breakdown
    left join publications
        on catalogue.dataset = publications.dataset
    left join releases
        on publications.publication_slug = releases.publication_slug

)

select * from final

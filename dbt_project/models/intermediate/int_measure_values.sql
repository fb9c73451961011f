{#- EES staging models whose rows can feed catalogue measures: one per dataset declared in
    vars.ees_datasets (dbt_project.yml), so a new dataset is not also listed here by hand. A new
    measure of an existing dataset needs only a measure_catalogue row. -#}
{%- set ees_staging_models = [] -%}
{%- for dataset in var('ees_datasets') -%}{%- do ees_staging_models.append('stg_ees__' ~ dataset) -%}{%- endfor %}

with

catalogue as (

    select * from {{ ref('measure_catalogue') }}

),

{% for model in ees_staging_models %}
    {{ model }} as (

        select * from {{ ref(model) }}

    ),
{% endfor %}

staged as (

    {% for model in ees_staging_models -%}
        select * from {{ model }}
        {% if not loop.last %}union all by name{% endif %}
    {% endfor %}

),

-- One row per way a catalogue row's series is marked in DfE's files: alternatives separated by
-- '|' name the same series in files that label it differently (the sample's
-- breakdown_topic=Disadvantage;breakdown=Disadvantaged is DfE's KS4 characteristics file's
-- breakdown=disadvantage;disadvantage=Disadvantaged), each read as a map {breakdown_topic: ...}.
-- An empty cell means the headline row.
catalogue_filters as (

    select
        *,
        unnest({{ catalogue_filter_alternatives('filters') }}) as required_filters
    from catalogue

),

-- A row counts for a measure when each filter the catalogue names has the named value and every
-- other filter column has a headline value ('Total', or what the dataset's registry entry names
-- under headline:, e.g. NEET's age 16-17). Checking the "every other" half is what keeps decoy
-- rows (e.g. sex = Boys under a Total breakdown) out of the headline. The test depends only on a
-- row's filters, so it runs once per distinct combination of filter values, not once per cell:
-- characteristics files have millions of cells but a few thousand combinations.
filter_combinations as (

    select distinct
        dataset,
        filters,
        cast(filters as varchar) as filters_key
    from staged

),

matched_combinations as (

    select distinct
        catalogue_filters.measure_code,
        catalogue_filters.breakdown,
        catalogue_filters.polarity,
        catalogue_filters.unit,
        catalogue_filters.decimal_places,
        catalogue_filters.indicator_column,
        filter_combinations.dataset,
        filter_combinations.filters_key
    from filter_combinations
    inner join catalogue_filters
        on filter_combinations.dataset = catalogue_filters.dataset
    where len(list_filter(
        map_keys(catalogue_filters.required_filters),
        lambda k: not list_contains(map_keys(filter_combinations.filters), k)
    )) = 0
    and len(list_filter(
        map_keys(filter_combinations.filters),
        lambda k: case
            when catalogue_filters.required_filters[k] is not null
                then
                    {{ normalise_label('filter_combinations.filters[k]') }}
                    <> {{ normalise_label('catalogue_filters.required_filters[k]') }}
            else not list_contains(
                list_transform(
                    {{ ees_headline_values_sql('filter_combinations.dataset', 'k') }},
                    lambda headline: {{ normalise_label('headline') }}
                ),
                {{ normalise_label('filter_combinations.filters[k]') }}
            )
        end
    )) = 0

),

matched as (

    select
        matched_combinations.measure_code,
        matched_combinations.breakdown,
        matched_combinations.polarity,
        matched_combinations.unit,
        matched_combinations.decimal_places,
        staged.*
    from staged
    inner join matched_combinations
        on
            staged.dataset = matched_combinations.dataset
            and staged.indicator = matched_combinations.indicator_column
            and cast(staged.filters as varchar) = matched_combinations.filters_key

),

-- London boroughs' region_code is Inner/Outer London (E13); those sub-regions are published as
-- areas in their own right, so they stay separate keys here and are mapped to London later.
with_area as (

    select
        *,
        case lower(geographic_level)
            when 'national' then 'national'
            when 'regional' then 'regional'
            when 'local authority' then 'local_authority'
        end as area_level,
        case lower(geographic_level)
            when 'national' then country_code
            when 'regional' then region_code
            when 'local authority' then old_la_code
        end as area_code,
        case lower(geographic_level)
            when 'national' then country_name
            when 'regional' then region_name
            when 'local authority' then la_name
        end as area_name
    from matched

),

-- Two files of the same release may both carry a key (a corrected file re-published): the
-- later-landed file is the one DfE stands behind now.
deduplicated as (

    select *
    from with_area
    where
        area_level is not null
        and area_code is not null
        and time_period is not null
    qualify row_number() over (
        partition by measure_code, breakdown, area_level, area_code, time_period, release
        order by landed_seq desc, source_row_number asc
    ) = 1

),

final as (

    select
        measure_code,
        breakdown,
        area_level,
        area_code,
        area_name,
        time_period,
        academic_year,
        release,
        {{ release_rank('release') }} as release_rank,
        country_code,
        region_code,
        region_name,
        old_la_code,
        new_la_code,
        la_name,
        dataset,
        indicator,
        raw_value,
        value,
        value_status,
        polarity,
        unit,
        cast(decimal_places as integer) as decimal_places,
        source_file,
        file_sha256,
        source_row_number,
        landed_seq
    from deduplicated

)

select * from final

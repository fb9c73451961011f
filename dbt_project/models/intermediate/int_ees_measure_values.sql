{#- EES staging models whose rows can feed catalogue measures: one per dataset declared in
    vars.ees_datasets (dbt_project.yml), so a new dataset is not also listed here by hand. A new
    measure of an existing dataset needs only a measure_catalogue row. -#}
{%- set ees_staging_models = [] -%}
{%- for dataset in var('ees_datasets') -%}{%- do ees_staging_models.append('stg_ees__' ~ dataset) -%}{%- endfor %}
{#- Every dataset's canonical indicator columns: the staging views' columns other than the
    standard ones (macros/ees_staging.sql), read when dbt runs. -#}
{%- set indicator_columns = [] -%}
{%- if execute -%}
    {%- for model in ees_staging_models -%}
        {%- for column in adapter.get_columns_in_relation(ref(model)) -%}
            {%- set name = column.name | lower -%}
            {%- if name not in ees_staging_row_columns() and name not in indicator_columns -%}
                {%- do indicator_columns.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}
{#- ...as SQL: their names as text, and the columns themselves -#}
{%- set indicator_names = [] -%}
{%- set indicator_cells = [] -%}
{%- for column in indicator_columns -%}
    {%- do indicator_names.append("'" ~ (column | replace("'", "''")) ~ "'") -%}
    {%- do indicator_cells.append(adapter.quote(column)) -%}
{%- endfor %}

with

catalogue as (

    select * from {{ ref('measure_catalogue') }}

),

{% for model in ees_staging_models %}
    {{ model }} as (

        select * from {{ ref(model) }}

    ),
{% endfor %}

-- One row per source row of every dataset, wide: each dataset's own indicator columns. Read twice
-- (the filter combinations, then the matched rows) but never held: DuckDB would otherwise keep
-- every row of every file in memory, and spill it to disk past the build's memory limit.
staged_rows as not materialized (

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
        filters_key
    from staged_rows

),

matched_combinations as (

    select distinct
        catalogue_filters.measure_code,
        catalogue_filters.breakdown,
        catalogue_filters.polarity,
        catalogue_filters.unit,
        catalogue_filters.decimal_places,
        catalogue_filters.indicator_column,
        catalogue_filters.numerator_column,
        catalogue_filters.denominator_column,
        catalogue_filters.ratio_multiplier,
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

-- Only the rows some catalogue row reads become cells: in a characteristics file of millions of
-- rows most are breakdowns nothing publishes, and parsing their cells would be wasted work.
wanted_rows as (

    select distinct
        dataset,
        filters_key
    from matched_combinations

),

matched_rows as (

    select staged_rows.*
    from staged_rows
    inner join wanted_rows
        on
            staged_rows.dataset = wanted_rows.dataset
            and staged_rows.filters_key = wanted_rows.filters_key

),

-- One row per cell of those rows: the indicator columns unpivoted, their names and cells as two
-- lists unnested side by side.
unpivoted as (

    select
        {{ ees_staging_row_columns() | join(', ') }},
        unnest([{{ indicator_names | join(', ') }}]::varchar[]) as indicator,
        unnest([{{ indicator_cells | join(', ') }}]::varchar[]) as raw_value
    from matched_rows

),

-- NULL cells are dropped, as they only occur where a file did not have that column (the indicator
-- was not published in that file; an empty cell is '' and stays). Each cell keeps its text beside
-- its number and EES status (vars.ees_cells).
cells as (

    select
        *,
        {{ parse_ees_value('raw_value') }} as value,
        {{ ees_value_status('raw_value') }} as value_status
    from unpivoted
    where raw_value is not null

),

-- The file's own cells: what is published (a suppressed cell included) is what is read.
published as (

    select
        matched_combinations.measure_code,
        matched_combinations.breakdown,
        matched_combinations.polarity,
        matched_combinations.unit,
        matched_combinations.decimal_places,
        cells.*,
        'published' as value_derivation,
        1 as derivation_rank
    from cells
    inner join matched_combinations
        on
            cells.dataset = matched_combinations.dataset
            and cells.indicator = matched_combinations.indicator_column
            and cells.filters_key = matched_combinations.filters_key

),

-- Totals-only files (DfE's KS4 2017/18 characteristics file has t_att8 and t_pupils, no
-- avg_att8): a catalogue row's numerator and denominator, side by side per file row.
ratio_rows as (

    select
        matched_combinations.measure_code,
        matched_combinations.breakdown,
        matched_combinations.polarity,
        matched_combinations.unit,
        matched_combinations.decimal_places,
        matched_combinations.indicator_column,
        matched_combinations.numerator_column,
        matched_combinations.denominator_column,
        matched_combinations.ratio_multiplier,
        cells.dataset,
        cells.time_period,
        cells.academic_year,
        cells.time_identifier,
        cells.geographic_level,
        cells.country_code,
        cells.country_name,
        cells.region_code,
        cells.region_name,
        cells.old_la_code,
        cells.new_la_code,
        cells.la_name,
        cells.version,
        cells.release,
        cells.source_file,
        cells.file_sha256,
        cells.source_row_number,
        cells.landed_seq,
        any_value(cells.value) filter (where cells.indicator = matched_combinations.numerator_column) as numerator,
        coalesce(
            any_value(cells.value_status) filter (where cells.indicator = matched_combinations.numerator_column),
            'missing'
        ) as numerator_status,
        any_value(cells.value) filter (where cells.indicator = matched_combinations.denominator_column) as denominator,
        coalesce(
            any_value(cells.value_status) filter (where cells.indicator = matched_combinations.denominator_column),
            'missing'
        ) as denominator_status
    from cells
    inner join matched_combinations
        on
            cells.dataset = matched_combinations.dataset
            and cells.indicator in (matched_combinations.numerator_column, matched_combinations.denominator_column)
            and cells.filters_key = matched_combinations.filters_key
    group by all

),

-- The headline of a file with no all-pupils row, from a complete partition of pupils in the
-- same file (the registry's headline_partitions: disadvantaged + not disadvantaged, or the
-- three state-funded phases): the members' totals summed, every member there. Only where the
-- registry says partition_members_may_be_absent (absence's phases) is a member with no row read
-- as no pupils (EES files leave out a phase an LA has no school of, and mark a withheld one with a
-- symbol): City of London has no state secondary school, so DfE's and LAIT's total there is its
-- primary figure.
partitions as (

    {{ ees_headline_partitions_sql() }}

),

partition_sums as (

    select
        ratio_rows.measure_code,
        'all' as breakdown,
        ratio_rows.polarity,
        ratio_rows.unit,
        ratio_rows.decimal_places,
        ratio_rows.indicator_column,
        ratio_rows.numerator_column,
        ratio_rows.denominator_column,
        ratio_rows.ratio_multiplier,
        ratio_rows.dataset,
        ratio_rows.time_period,
        ratio_rows.academic_year,
        ratio_rows.time_identifier,
        ratio_rows.geographic_level,
        ratio_rows.country_code,
        ratio_rows.region_code,
        ratio_rows.old_la_code,
        ratio_rows.new_la_code,
        ratio_rows.version,
        ratio_rows.release,
        ratio_rows.source_file,
        ratio_rows.file_sha256,
        ratio_rows.landed_seq,
        partitions.partition_number,
        any_value(ratio_rows.country_name) as country_name,
        any_value(ratio_rows.region_name) as region_name,
        any_value(ratio_rows.la_name) as la_name,
        min(ratio_rows.source_row_number) as source_row_number,
        sum(ratio_rows.numerator) as numerator,
        sum(ratio_rows.denominator) as denominator,
        -- one status for the sum: any suppressed member keeps it suppressed, so the sum can never
        -- reveal or narrow a withheld part
        case
            when bool_and(ratio_rows.numerator_status = 'published' and ratio_rows.denominator_status = 'published')
                then 'published'
            when bool_or(ratio_rows.numerator_status = 'suppressed' or ratio_rows.denominator_status = 'suppressed')
                then 'suppressed'
            else min(
                case
                    when ratio_rows.numerator_status <> 'published' then ratio_rows.numerator_status
                    else ratio_rows.denominator_status
                end
            )
        end as parts_status,
        string_agg(ratio_rows.breakdown, ' + ' order by ratio_rows.breakdown) as members_summed
    from ratio_rows
    inner join partitions
        on
            ratio_rows.dataset = partitions.dataset
            and ratio_rows.breakdown = partitions.breakdown
    group by all
    having
        count(*) = count(distinct ratio_rows.breakdown)
        and (count(*) = any_value(partitions.members) or bool_and(partitions.may_be_absent))

),

derived_parts as (

    select
        * exclude (numerator_status, denominator_status),
        case
            when numerator_status = 'published' and denominator_status = 'published' then 'published'
            when 'suppressed' in (numerator_status, denominator_status) then 'suppressed'
            when numerator_status <> 'published' then numerator_status
            else denominator_status
        end as parts_status,
        numerator_column || ' / ' || denominator_column || ' of the same row' as value_derivation,
        2 as derivation_rank
    from ratio_rows

    union all by name

    select
        * exclude (partition_number, members_summed),
        'sum of ' || numerator_column || ' / sum of ' || denominator_column || ' over ' || members_summed
            as value_derivation,
        2 + partition_number as derivation_rank
    from partition_sums

),

-- A derived value is rounded to the places DfE publishes the measure to, as its own would be;
-- a zero denominator (no pupils) has no value.
derived as (

    select
        * exclude (
            numerator, denominator, parts_status, indicator_column, numerator_column, denominator_column, ratio_multiplier
        ),
        -- the column the value stands for (avg_att8), so its bounds and lineage read as the file's own would
        indicator_column as indicator,
        cast(null as varchar) as raw_value,
        case
            -- multiplied first and rounded as a decimal: 23 / 80 x 100 is 28.75, which rounds to
            -- 28.8, whereas the double 23 / 80 * 100 is 28.749999999999996 and rounds to 28.7
            when parts_status = 'published' and denominator > 0
                then {{ round_decimal(as_decimal('numerator * ratio_multiplier / denominator'), 'decimal_places') }}
        end as value,
        case
            when parts_status = 'published' and not denominator > 0 then 'not_applicable'
            else parts_status
        end as value_status
    from derived_parts

),

matched as (

    select * from published
    union all by name
    select * from derived

),

-- London boroughs' region_code is Inner/Outer London (E13); those sub-regions are published as
-- areas in their own right, so they stay separate keys here and are mapped to London later.
with_area as (

    select
        *,
        {{ published_area('geographic_level', 'area_level') }} as area_level,
        {{ published_area('geographic_level', 'code') }} as area_code,
        {{ published_area('geographic_level', 'name') }} as area_name
    from matched

),

-- A published cell (even a suppressed one) beats any value worked out from totals, so a
-- derivation never reveals what DfE withheld. Two files of the same release may both carry a key
-- (a corrected file re-published): the later-landed file is the one DfE stands behind now.
deduplicated as (

    select *
    from with_area
    where
        area_level is not null
        and area_code is not null
        and time_period is not null
    qualify row_number() over (
        partition by measure_code, breakdown, area_level, area_code, time_period, release
        order by derivation_rank asc, landed_seq desc, source_row_number asc
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
        landed_seq,
        value_derivation
    from deduplicated

)

select * from final

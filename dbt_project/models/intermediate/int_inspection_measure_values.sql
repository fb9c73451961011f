-- The share of pupils in good or outstanding schools, per area, phase and academic year, from
-- Ofsted's England-wide snapshots: a catalogue measure like any other from here on (England,
-- region, neighbours, rank and band). The catalogue rows of dataset local_inspections say which
-- measure and breakdowns these are; their `filters` name the Ofsted phase (blank: every phase).
with

catalogue as (

    select * from {{ ref('measure_catalogue') }}
    where dataset = 'local_inspections'

),

inspections as (

    select * from {{ ref('int_inspection_outcomes_matched') }}

),

ees_values as (

    select * from {{ ref('int_ees_measure_values') }}
    where area_level = 'local_authority'

),

-- Each LA's codes, name and region as the EES files last give them (London boroughs: the
-- Inner/Outer London sub-region, as in EES rows).
la_attributes as (

    select
        old_la_code,
        {{ latest_la_attribute('new_la_code') }} as new_la_code,
        {{ latest_la_attribute('la_name') }} as la_name,
        {{ latest_la_attribute('region_code') }} as region_code,
        {{ latest_la_attribute('region_name') }} as region_name
    from ees_values
    group by old_la_code

),

catalogue_phases as (

    select
        measure_code,
        breakdown,
        polarity,
        unit,
        cast(decimal_places as integer) as decimal_places,
        indicator_column,
        unnest({{ catalogue_filter_alternatives('filters') }})['phase'] as required_phase
    from catalogue

),

snapshot_dates as (

    select distinct as_at from inspections

),

-- An "as at 31 August 2025" snapshot is the state at the end of 2024/25; a year with two
-- snapshots takes the later one.
snapshots as (

    select
        as_at,
        case
            when month(as_at) >= 9 then year(as_at) * 100 + (year(as_at) + 1) % 100
            else (year(as_at) - 1) * 100 + year(as_at) % 100
        end as time_period
    from snapshot_dates
    qualify row_number() over (partition by time_period order by as_at desc) = 1

),

schools as (

    select
        inspections.*,
        snapshots.time_period,
        la_attributes.new_la_code,
        la_attributes.la_name as reference_la_name,
        la_attributes.region_code,
        la_attributes.region_name
    from inspections
    inner join snapshots
        on inspections.as_at = snapshots.as_at
    left join la_attributes
        on inspections.old_la_code = la_attributes.old_la_code

),

-- Ofsted's own file covers England; a council's extract of it does not, and England's and the
-- regions' figures (so every rank) would be of its schools alone.
england_wide as (

    select time_period
    from schools
    where region_code is not null
    group by time_period
    having
        count(distinct {{ comparator_region('region_code') }})
        = (select count(distinct {{ comparator_region('region_code') }}) from la_attributes)

),

school_measures as (

    select
        catalogue_phases.*,
        schools.*
    from schools
    inner join england_wide
        on schools.time_period = england_wide.time_period
    inner join catalogue_phases
        on
            catalogue_phases.required_phase is null
            or {{ normalise_label('schools.phase') }} = {{ normalise_label('catalogue_phases.required_phase') }}

),

-- England, each region as EES publishes regions (Inner and Outer London, and London), each LA.
area_schools as (

    select
        *,
        'national' as area_level,
        {{ england_code() }} as area_code,
        {{ england_name() }} as area_name
    from school_measures

    union all by name

    select
        *,
        'regional' as area_level,
        region_code as area_code,
        region_name as area_name
    from school_measures
    where region_code is not null

    union all by name

    select
        *,
        'regional' as area_level,
        {{ london_code() }} as area_code,
        {{ london_name() }} as area_name
    from school_measures
    where {{ is_london_sub_region('region_code') }}

    union all by name

    select
        *,
        'local_authority' as area_level,
        old_la_code as area_code,
        coalesce(reference_la_name, la_name_as_written) as area_name
    from school_measures
    where old_la_code is not null

),

aggregated as (

    select
        measure_code,
        breakdown,
        polarity,
        unit,
        decimal_places,
        indicator_column,
        area_level,
        area_code,
        time_period,
        any_value(area_name) as area_name,
        any_value(as_at) as as_at,
        any_value(case when area_level = 'local_authority' then old_la_code end) as old_la_code,
        any_value(case when area_level = 'local_authority' then new_la_code end) as new_la_code,
        any_value(case when area_level = 'local_authority' then coalesce(reference_la_name, la_name_as_written) end)
            as la_name,
        any_value(case when area_level <> 'national' then region_code end) as region_code,
        any_value(case when area_level <> 'national' then region_name end) as region_name,
        min(source_file) as source_file,
        min(file_sha256) as file_sha256,
        max(landed_seq) as landed_seq,
        count(*) as schools,
        coalesce(sum(pupils) filter (where overall_effectiveness_grade is not null), 0) as pupils_judged,
        coalesce(sum(pupils) filter (where overall_effectiveness_grade <= 2), 0) as pupils_good_or_outstanding
    from area_schools
    group by all

),

final as (

    select
        measure_code,
        breakdown,
        area_level,
        area_code,
        area_name,
        time_period,
        {{ academic_year('time_period') }} as academic_year,
        'final' as release,
        {{ release_rank("'final'") }} as release_rank,
        {{ england_code() }} as country_code,
        case
            when area_level = 'regional' and area_code = {{ london_code() }} then {{ london_code() }}
            else region_code
        end as region_code,
        case
            when area_level = 'regional' and area_code = {{ london_code() }} then {{ london_name() }}
            else region_name
        end as region_name,
        old_la_code,
        new_la_code,
        la_name,
        'local_inspections' as dataset,
        indicator_column as indicator,
        cast(null as varchar) as raw_value,
        case
            when pupils_judged > 0
                then {{ round_decimal(as_decimal('100.0 * pupils_good_or_outstanding / pupils_judged'), 'decimal_places') }}
        end as value,
        case when pupils_judged > 0 then 'published' else 'not_applicable' end as value_status,
        polarity,
        unit,
        decimal_places,
        source_file,
        file_sha256,
        cast(null as integer) as source_row_number,
        landed_seq,
        'pupils in good or outstanding schools / pupils in schools with a single-word judgement, over '
        || schools || ' schools in Ofsted''s management information as at ' || strftime(as_at, '%-d %B %Y')
            as value_derivation
    from aggregated

)

select * from final

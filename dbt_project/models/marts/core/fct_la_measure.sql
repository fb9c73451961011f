-- The published LA contract (docs/architecture.md): one row per measure x breakdown x period x LA
-- from the period's latest release, with England, region and statistical-neighbour comparators,
-- the previous comparable year, rank and quartile band.
with

la_measures as (

    select * from {{ ref('int_measure_previous_compared') }}
    where area_level = 'local_authority'

),

comparator_releases as (

    select * from {{ ref('int_measure_values') }}
    where area_level in ('national', 'regional')

),

comparator_latest as (

    select * from {{ ref('int_measure_previous_compared') }}
    where area_level in ('national', 'regional')

),

ranks as (

    select * from {{ ref('int_la_measure_ranked') }}

),

neighbours as (

    select * from {{ ref('int_la_neighbours_selected') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

-- Inner/Outer London sub-regions with a published figure for the measure x breakdown in any period.
published_sub_regions as (

    select distinct
        measure_code,
        breakdown,
        area_code
    from comparator_latest
    where
        area_level = 'regional'
        and {{ is_london_sub_region('area_code') }}
        and value is not null

),

la_regions as (

    select
        la_measures.*,
        -- a London borough's sub-region from the LA dimension where the row says only London (or
        -- nothing), so one file's coding never flips its comparator for a year
        case
            when la_measures.region_code is null or la_measures.region_code = {{ london_code() }}
                then coalesce(local_authorities.london_subregion_code, local_authorities.region_code, la_measures.region_code)
            else la_measures.region_code
        end as own_region_code
    from la_measures
    left join local_authorities
        on la_measures.area_code = local_authorities.old_la_code

),

-- The LA's region (London for a London borough), and the area its regional figure comes from, as
-- LAIT chooses it (clean_ldn_region): a London borough is compared with its own Inner or Outer
-- London sub-region when the measure x breakdown publishes that sub-region in any period, and
-- with London when it never does; every other LA with its region.
la_with_region as (

    select
        la_regions.*,
        {{ comparator_region('la_regions.own_region_code') }} as comparator_region_code,
        case
            when published_sub_regions.area_code is not null then la_regions.own_region_code
            else {{ comparator_region('la_regions.own_region_code') }}
        end as regional_comparator_code
    from la_regions
    left join published_sub_regions
        on
            la_regions.measure_code = published_sub_regions.measure_code
            and la_regions.breakdown = published_sub_regions.breakdown
            and la_regions.own_region_code = published_sub_regions.area_code

),

-- Comparators on the LA value's own release basis (a provisional LA figure against the
-- provisional England figure); the comparator's latest release only when that release lacks it.
comparators as (

    select
        la.measure_code,
        la.breakdown,
        la.time_period,
        la.area_code as old_la_code,
        coalesce(national_same.value, national_latest.value) as national_value,
        national_latest.previous_value as national_previous_value,
        coalesce(regional_same.value, regional_latest.value) as regional_value
    from la_with_region as la
    left join comparator_releases as national_same
        on
            national_same.area_level = 'national'
            and la.measure_code = national_same.measure_code
            and la.breakdown = national_same.breakdown
            and la.time_period = national_same.time_period
            and la.release = national_same.release
    left join comparator_latest as national_latest
        on
            national_latest.area_level = 'national'
            and la.measure_code = national_latest.measure_code
            and la.breakdown = national_latest.breakdown
            and la.time_period = national_latest.time_period
    left join comparator_releases as regional_same
        on
            regional_same.area_level = 'regional'
            and regional_same.area_code = la.regional_comparator_code
            and la.measure_code = regional_same.measure_code
            and la.breakdown = regional_same.breakdown
            and la.time_period = regional_same.time_period
            and la.release = regional_same.release
    left join comparator_latest as regional_latest
        on
            regional_latest.area_level = 'regional'
            and regional_latest.area_code = la.regional_comparator_code
            and la.measure_code = regional_latest.measure_code
            and la.breakdown = regional_latest.breakdown
            and la.time_period = regional_latest.time_period

),

-- Mean of the neighbours' published values (each from its own latest release), unrounded as LAIT
-- publishes it: it is rounded only where it is shown.
neighbour_averages as (

    select
        la.measure_code,
        la.breakdown,
        la.time_period,
        la.area_code as old_la_code,
        avg({{ as_decimal('neighbour_values.value') }}) as sn_average,
        count(neighbour_values.value) as sn_count
    from la_measures as la
    inner join neighbours
        on la.area_code = neighbours.old_la_code
    left join la_measures as neighbour_values
        on
            neighbour_values.area_code = neighbours.neighbour_old_la_code
            and neighbour_values.measure_code = la.measure_code
            and neighbour_values.breakdown = la.breakdown
            and neighbour_values.time_period = la.time_period
            and neighbour_values.value_status = 'published'
    group by la.measure_code, la.breakdown, la.time_period, la.area_code

),

joined as (

    select
        la.*,
        local_authorities.la_code as dim_la_code,
        local_authorities.la_name as dim_la_name,
        local_authorities.region_name as dim_region_name,
        comparators.national_value,
        comparators.national_previous_value,
        comparators.regional_value,
        neighbour_averages.sn_average,
        coalesce(neighbour_averages.sn_count, 0) as sn_count,
        ranks.rank,
        ranks.ranked_count,
        ranks.quartile_band
    from la_with_region as la
    left join local_authorities
        on la.area_code = local_authorities.old_la_code
    left join comparators
        on
            la.measure_code = comparators.measure_code
            and la.breakdown = comparators.breakdown
            and la.time_period = comparators.time_period
            and la.area_code = comparators.old_la_code
    left join neighbour_averages
        on
            la.measure_code = neighbour_averages.measure_code
            and la.breakdown = neighbour_averages.breakdown
            and la.time_period = neighbour_averages.time_period
            and la.area_code = neighbour_averages.old_la_code
    left join ranks
        on
            la.measure_code = ranks.measure_code
            and la.breakdown = ranks.breakdown
            and la.time_period = ranks.time_period
            and la.area_code = ranks.old_la_code

),

landed_files as (

    select * from {{ ref('stg_ingest__landed_files') }}

),

final as (

    select
        {{ measure_period_columns() }},
        cast(coalesce(dim_la_code, new_la_code) as varchar) as la_code,
        cast(area_code as varchar) as old_la_code,
        cast(coalesce(dim_la_name, la_name) as varchar) as la_name,
        cast(comparator_region_code as varchar) as region_code,
        cast(
            case when comparator_region_code = {{ london_code() }} then {{ london_name() }} else coalesce(dim_region_name, region_name) end
            as varchar
        ) as region_name,
        cast(value as double) as value,
        cast(value_status as varchar) as value_status,
        cast(release as varchar) as release,
        cast(national_value as double) as national_value,
        cast(regional_value as double) as regional_value,
        cast(regional_comparator_code as varchar) as regional_comparator_code,
        cast(
            case
                when regional_comparator_code = {{ london_code() }} then {{ london_name() }}
                when regional_comparator_code = comparator_region_code then coalesce(dim_region_name, region_name)
                else {{ london_sub_region_name('regional_comparator_code') }}
            end
            as varchar
        ) as regional_comparator_name,
        cast(sn_average as double) as sn_average,
        cast(sn_count as integer) as sn_count,
        {{ rounded_difference('value', 'national_value', 'decimal_places') }} as diff_vs_national,
        {{ rounded_difference('value', 'regional_value', 'decimal_places') }} as diff_vs_regional,
        {{ rounded_difference('value', 'sn_average', 'decimal_places') }} as diff_vs_sn,
        cast(previous_time_period as integer) as previous_time_period,
        cast(previous_value as double) as previous_value,
        cast(change_vs_previous as double) as change_vs_previous,
        cast(national_previous_value as double) as national_previous_value,
        {{ rounded_difference('national_value', 'national_previous_value', 'decimal_places') }} as national_change_vs_previous,
        cast(rank as integer) as rank,
        cast(ranked_count as integer) as ranked_count,
        cast(quartile_band as varchar) as quartile_band,
        {{ measure_reading_and_lineage_columns('joined') }}
    from joined
    {{ join_landed_files('joined') }}

)

select * from final

-- One row per local authority seen in the data, with its region for comparisons and its
-- statistical neighbours. Attributes come from the LA's most recent row so renamed LAs show
-- their current name.
with

measure_values as (

    select * from {{ ref('int_measure_values') }}

),

neighbours as (

    select * from {{ ref('int_la_neighbours_selected') }}

),

la_rows as (

    select
        old_la_code,
        new_la_code,
        la_name,
        region_code,
        region_name,
        time_period,
        landed_seq
    from measure_values
    where area_level = 'local_authority'

),

latest_attributes as (

    select
        old_la_code,
        {{ latest_la_attribute('la_name') }} as la_name,
        {{ latest_la_attribute('new_la_code') }} as la_code,
        {{ latest_la_attribute('region_code') }} as source_region_code,
        {{ latest_la_attribute('region_name') }} as source_region_name,
        min(time_period) as first_time_period,
        max(time_period) as latest_time_period
    from la_rows
    group by old_la_code

),

-- EES gives London boroughs the Inner/Outer London sub-region as region_code; the region an LA
-- is compared with is London (vars.areas.london), and the sub-region is kept for reference.
with_region as (

    select
        *,
        {{ is_london_sub_region('source_region_code') }} as is_london_borough,
        {{ comparator_region('source_region_code') }} as region_code,
        case when {{ is_london_sub_region('source_region_code') }} then {{ london_name() }} else source_region_name end as region_name,
        case when {{ is_london_sub_region('source_region_code') }} then source_region_code end as london_subregion_code,
        case when {{ is_london_sub_region('source_region_code') }} then source_region_name end as london_subregion
    from latest_attributes

),

neighbour_lists as (

    select
        neighbours.old_la_code,
        list(neighbours.neighbour_old_la_code order by neighbours.neighbour_rank) as statistical_neighbours,
        list(coalesce(neighbour_names.la_name, neighbours.neighbour_old_la_code) order by neighbours.neighbour_rank)
            as statistical_neighbour_names,
        count(*) as statistical_neighbour_count,
        any_value(neighbours.source_file) as neighbours_source_file
    from neighbours
    left join latest_attributes as neighbour_names
        on neighbours.neighbour_old_la_code = neighbour_names.old_la_code
    group by neighbours.old_la_code

),

final as (

    select
        cast(with_region.la_code as varchar) as la_code,
        cast(with_region.old_la_code as varchar) as old_la_code,
        cast(with_region.la_name as varchar) as la_name,
        cast(with_region.region_code as varchar) as region_code,
        cast(with_region.region_name as varchar) as region_name,
        cast(with_region.london_subregion_code as varchar) as london_subregion_code,
        cast(with_region.london_subregion as varchar) as london_subregion,
        cast(coalesce(neighbour_lists.statistical_neighbours, []) as varchar[]) as statistical_neighbours,
        cast(coalesce(neighbour_lists.statistical_neighbour_names, []) as varchar[]) as statistical_neighbour_names,
        cast(coalesce(neighbour_lists.statistical_neighbour_count, 0) as integer) as statistical_neighbour_count,
        cast(with_region.first_time_period as integer) as first_time_period,
        cast(with_region.latest_time_period as integer) as latest_time_period,
        cast(neighbour_lists.neighbours_source_file as varchar) as neighbours_source_file
    from with_region
    left join neighbour_lists
        on with_region.old_la_code = neighbour_lists.old_la_code

)

select * from final

-- One row per LA and statistical neighbour from the neighbour model in force: the long form of
-- dim_local_authority's neighbour lists, so a BI tool can join an LA to its neighbours' figures
-- and rebuild LAIT's neighbour table.
with

neighbours as (

    select * from {{ ref('int_la_neighbours_selected') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

final as (

    select
        cast(neighbours.old_la_code as varchar) as old_la_code,
        cast(la.la_code as varchar) as la_code,
        cast(coalesce(la.la_name, neighbours.la_name) as varchar) as la_name,
        cast(neighbours.neighbour_rank as integer) as neighbour_rank,
        cast(neighbours.neighbour_old_la_code as varchar) as neighbour_old_la_code,
        cast(neighbour.la_code as varchar) as neighbour_la_code,
        cast(neighbour.la_name as varchar) as neighbour_la_name,
        cast(neighbours.closeness as varchar) as closeness,
        cast(neighbours.source_file as varchar) as source_file
    from neighbours
    left join local_authorities as la
        on neighbours.old_la_code = la.old_la_code
    left join local_authorities as neighbour
        on neighbours.neighbour_old_la_code = neighbour.old_la_code
    where neighbours.neighbour_old_la_code is not null

)

select * from final

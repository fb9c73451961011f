-- The statistical neighbour model in force: each LA's neighbours come from the latest-landed
-- file that lists it (DfE republishes the whole model, e.g. 2021 -> 2025).
with

neighbours as (

    select * from {{ ref('stg_dfe__statistical_neighbours') }}

),

final as (

    select *
    from neighbours
    qualify landed_seq = max(landed_seq) over (partition by old_la_code)
    -- a file listing an LA twice keeps its first row's neighbours
    and row_number() over (partition by old_la_code, neighbour_rank order by source_row_number) = 1

)

select * from final

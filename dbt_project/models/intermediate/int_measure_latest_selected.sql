-- Each period is reported from its most authoritative release (final > revised > provisional),
-- chosen per key so an LA missing from a later file still shows its earlier figure.
with

measure_values as (

    select * from {{ ref('int_measure_values') }}

),

final as (

    select *
    from measure_values
    qualify row_number() over (
        partition by measure_code, breakdown, area_level, area_code, time_period
        order by release_rank desc, landed_seq desc
    ) = 1

)

select * from final

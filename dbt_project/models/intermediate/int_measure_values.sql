-- Every value the marts compare: DfE's published files' and the Ofsted shares worked out here.
with

ees_values as (

    select * from {{ ref('int_ees_measure_values') }}

),

inspection_values as (

    select * from {{ ref('int_inspection_measure_values') }}

),

final as (

    select * from ees_values
    union all by name
    select * from inspection_values

)

select * from final

-- A catalogue row of Ofsted's inspection outcomes names one Ofsted phase (or none, for all
-- schools): int_inspection_measure_values reads a school once per '|' alternative of the row's
-- filters, so a row with two alternatives would count its schools twice.
with

catalogue as (

    select * from {{ ref('measure_catalogue') }}

),

final as (

    select
        measure_code,
        breakdown,
        filters
    from catalogue
    where
        dataset = 'local_inspections'
        and filters like '%|%'

)

select * from final

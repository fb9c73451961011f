-- Ofsted inspection outcomes per school and snapshot (kind inspection_outcomes), the overall
-- effectiveness read as a grade. Single-word judgements ended for inspections from September
-- 2024 (report cards), so a missing grade on a later inspection is not a data problem.
with

source as (

    select * from {{ source('local', 'local_inspections') }}

),

parsed as (

    select
        cast(dataset as varchar) as dataset,
        nullif(trim(urn), '') as urn,
        nullif(trim(school_name), '') as school_name,
        nullif(trim(la_code), '') as old_la_code,
        nullif(trim(la_name), '') as la_name,
        nullif(trim(phase), '') as phase,
        cast({{ parse_local_number('pupils') }} as integer) as pupils,
        -- Ofsted's management information writes dates as ISO or as DD/MM/YYYY by release.
        coalesce(
            try_cast(trim(inspection_date) as date),
            cast(try_strptime(trim(inspection_date), '%d/%m/%Y') as date),
            cast(try_strptime(trim(inspection_date), '%d-%m-%Y') as date)
        ) as inspection_date,
        nullif(trim(overall_effectiveness), '') as overall_effectiveness,
        {{ normalise_label('overall_effectiveness') }} as judgement_text,
        try_cast(trim(as_at) as date) as as_at,
        cast(_source_file as varchar) as source_file,
        cast(_file_sha256 as varchar) as file_sha256,
        cast(_row_number as integer) as source_row_number,
        cast(_landed_seq as integer) as landed_seq
    from source

),

graded as (

    select
        *,
        case
            when judgement_text in ('1', 'outstanding') then 1
            when judgement_text in ('2', 'good') then 2
            -- 'Satisfactory' was grade 3 before September 2012.
            when judgement_text in ('3', 'requires improvement', 'satisfactory') then 3
            -- Schools in a category of concern are graded inadequate.
            when judgement_text in ('4', 'inadequate', 'serious weaknesses', 'special measures') then 4
        end as overall_effectiveness_grade
    from parsed

),

final as (

    select
        dataset,
        urn,
        school_name,
        old_la_code,
        la_name,
        phase,
        pupils,
        inspection_date,
        overall_effectiveness,
        overall_effectiveness_grade,
        case overall_effectiveness_grade
            when 1 then 'Outstanding'
            when 2 then 'Good'
            when 3 then 'Requires improvement'
            when 4 then 'Inadequate'
        end as overall_effectiveness_label,
        case
            when overall_effectiveness_grade is not null then 'single-word judgement'
            when inspection_date >= date '2024-09-01' then 'report card'
            else 'no single-word judgement'
        end as judgement_basis,
        as_at,
        source_file,
        file_sha256,
        source_row_number,
        landed_seq
    from graded

)

select * from final

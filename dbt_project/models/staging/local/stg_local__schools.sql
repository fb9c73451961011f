-- The council's school register (kind school_register): every school-level file is checked
-- against it, and it gives each school its LA and phase.
with

source as (

    select * from {{ source('local', 'local_schools') }}

),

final as (

    select
        cast(dataset as varchar) as dataset,
        nullif(trim(urn), '') as urn,
        nullif(trim(school_name), '') as school_name,
        nullif(trim(la_code), '') as old_la_code,
        nullif(trim(phase), '') as phase,
        nullif(trim(laestab), '') as laestab,
        nullif(trim(status), '') as status,
        cast(_source_file as varchar) as source_file,
        cast(_file_sha256 as varchar) as file_sha256,
        cast(_row_number as integer) as source_row_number,
        cast(_landed_seq as integer) as landed_seq
    from source

)

select * from final

-- Which landed file came from where: lets the marts name, per value, the EES data set id and
-- version (or download address) behind the file the value was read from.
with

source as (

    select * from {{ source('ingest', 'landed_files') }}

),

final as (

    select
        cast(dataset as varchar) as dataset,
        cast(file_sha256 as varchar) as file_sha256,
        cast(source_file as varchar) as source_file,
        cast(release as varchar) as declared_release,
        cast(landed_seq as integer) as landed_seq,
        cast(data_set_id as varchar) as data_set_id,
        cast(data_set_version as varchar) as data_set_version,
        cast(origin_url as varchar) as origin_url
    from source

)

select * from final

-- What DfE's website says of each publication a dataset is read from (recorded in sources.lock by
-- make update-sources): LAIT shows the last and next release and the methodology on every
-- indicator, and dim_measure carries them to the exports and briefings.
with

source as (

    select * from {{ source('ingest', 'publication_releases') }}

),

final as (

    select
        cast(publication_slug as varchar) as publication_slug,
        cast(publication_title as varchar) as publication_title,
        cast(latest_release_title as varchar) as latest_release_title,
        cast(latest_release_slug as varchar) as latest_release_slug,
        cast(latest_release_published as date) as latest_release_published,
        cast(next_release as varchar) as next_release,
        cast(methodology_title as varchar) as methodology_title,
        cast(methodology_url as varchar) as methodology_url,
        cast(checked_on as date) as checked_on
    from source

)

select * from final

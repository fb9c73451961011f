-- England and regional figures (including Inner/Outer London) per measure, breakdown and
-- period, from the period's latest release, with the change since the previous comparable year.
with

area_measures as (

    select * from {{ ref('int_measure_previous_compared') }}
    where area_level in ('national', 'regional')

),

landed_files as (

    select * from {{ ref('stg_ingest__landed_files') }}

),

final as (

    select
        cast(measure_code as varchar) as measure_code,
        cast(breakdown as varchar) as breakdown,
        cast(time_period as integer) as time_period,
        cast(academic_year as varchar) as academic_year,
        cast(area_level as varchar) as area_level,
        cast(area_code as varchar) as area_code,
        cast(area_name as varchar) as area_name,
        -- Inner and Outer London sit inside London; BI tools filter them out of region lists.
        cast(case when area_code in ('E13000001', 'E13000002') then 'E12000007' end as varchar) as parent_region_code,
        cast(value as double) as value,
        cast(value_status as varchar) as value_status,
        cast(release as varchar) as release,
        cast(previous_time_period as integer) as previous_time_period,
        cast(previous_value as double) as previous_value,
        cast(change_vs_previous as double) as change_vs_previous,
        cast(polarity as varchar) as polarity,
        cast(unit as varchar) as unit,
        cast(decimal_places as integer) as decimal_places,
        cast(comparability_note as varchar) as comparability_note,
        cast(area_measures.source_file as varchar) as data_source_file,
        cast(area_measures.file_sha256 as varchar) as file_sha256,
        cast(landed_files.data_set_id as varchar) as data_set_id,
        cast(landed_files.data_set_version as varchar) as data_set_version
    from area_measures
    left join landed_files
        on area_measures.dataset = landed_files.dataset
        and area_measures.file_sha256 = landed_files.file_sha256

)

select * from final

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
        {{ measure_area_key_columns() }},
        -- Inner and Outer London sit inside London; BI tools filter them out of region lists.
        cast(case when {{ is_london_sub_region('area_code') }} then {{ london_code() }} end as varchar) as parent_region_code,
        cast(value as double) as value,
        cast(value_status as varchar) as value_status,
        cast(release as varchar) as release,
        cast(previous_time_period as integer) as previous_time_period,
        cast(previous_value as double) as previous_value,
        cast(change_vs_previous as double) as change_vs_previous,
        {{ measure_reading_and_lineage_columns('area_measures') }}
    from area_measures
    {{ join_landed_files('area_measures') }}

)

select * from final

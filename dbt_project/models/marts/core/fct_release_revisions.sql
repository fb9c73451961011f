-- How figures moved between releases: each release of a measure/breakdown/area/period paired
-- with the next later release that has the same key (provisional -> revised -> final).
with

measure_values as (

    select * from {{ ref('int_measure_values') }}

),

sequenced as (

    select
        *,
        lead(release) over later_releases as later_release,
        lead(value) over later_releases as later_value,
        lead(value_status) over later_releases as later_value_status,
        lead(source_file) over later_releases as later_source_file,
        lead(file_sha256) over later_releases as later_file_sha256
    from measure_values
    window later_releases as (
        partition by measure_code, breakdown, area_level, area_code, time_period
        order by release_rank
    )

),

final as (

    select
        {{ measure_area_key_columns() }},
        cast(release as varchar) as earlier_release,
        cast(value as double) as earlier_value,
        cast(value_status as varchar) as earlier_value_status,
        cast(later_release as varchar) as later_release,
        cast(later_value as double) as later_value,
        cast(later_value_status as varchar) as later_value_status,
        {{ rounded_difference('later_value', 'value', 'decimal_places') }} as change,
        cast(
            value is distinct from later_value or value_status is distinct from later_value_status
            as boolean
        ) as is_changed,
        cast(source_file as varchar) as earlier_source_file,
        cast(file_sha256 as varchar) as earlier_file_sha256,
        cast(later_source_file as varchar) as later_source_file,
        cast(later_file_sha256 as varchar) as later_file_sha256
    from sequenced
    where later_release is not null

)

select * from final

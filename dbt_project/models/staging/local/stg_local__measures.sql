-- The measures declared in the council's school_measures schema files: how to read each
-- value and what its bounds are (the secondary suppression needs them).
with

source as (

    select * from {{ source('local', 'local_measures') }}

),

final as (

    select
        cast(dataset as varchar) as dataset,
        nullif(trim(measure_code), '') as measure_code,
        nullif(trim(label), '') as label,
        lower(nullif(trim(unit), '')) as unit,
        lower(nullif(trim(polarity), '')) as polarity,
        try_cast(nullif(trim(decimal_places), '') as integer) as decimal_places,
        coalesce(lower(trim(headline)) in ('true', 'yes', '1', 'y'), false) as is_headline,
        try_cast(nullif(trim(value_min), '') as double) as value_min,
        try_cast(nullif(trim(value_max), '') as double) as value_max,
        nullif(trim(phase), '') as phase,
        nullif(trim(value_column), '') as value_column,
        nullif(trim(numerator_column), '') as numerator_column,
        nullif(trim(denominator_column), '') as denominator_column,
        nullif(trim(cohort_column), '') as cohort_column,
        -- A measure is a rate of two counts when the schema names both columns.
        nullif(trim(numerator_column), '') is not null
        and nullif(trim(denominator_column), '') is not null as uses_numerator_denominator,
        cast(missing_values as varchar) as missing_values,
        cast(schema_file as varchar) as schema_file,
        cast(schema_sha256 as varchar) as schema_sha256,
        cast(_landed_seq as integer) as landed_seq
    from source

)

select * from final

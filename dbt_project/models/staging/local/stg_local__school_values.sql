-- One row per file row x declared measure of the council's school-level files, cells parsed.
-- Whether a value is shown is decided later (int_school_values_suppressed); here a cell is only
-- read: a number is published, any other text is the source's own suppression (SUPP, NP, ...),
-- a blank is not available.
with

source as (

    select * from {{ source('local', 'local_school_values') }}

),

measures as (

    select * from {{ ref('stg_local__measures') }}

),

parsed as (

    select
        cast(source.dataset as varchar) as dataset,
        nullif(trim(source.urn), '') as urn,
        nullif(trim(source.la_code), '') as old_la_code,
        nullif(trim(source.school_name), '') as school_name,
        nullif(trim(source.period_as_written), '') as period_as_written,
        try_cast(trim(source.time_period) as integer) as time_period,
        nullif(trim(source.time_identifier), '') as time_identifier,
        nullif(trim(source.measure_code), '') as measure_code,
        nullif(trim(source.source_column), '') as source_column,
        nullif(trim(source.value), '') as value_as_written,
        nullif(trim(source.cohort), '') as cohort_as_written,
        nullif(trim(source.numerator), '') as numerator_as_written,
        nullif(trim(source.denominator), '') as denominator_as_written,
        {{ parse_local_number('source.value') }} as parsed_value,
        {{ parse_local_number('source.numerator') }} as numerator,
        {{ parse_local_number('source.denominator') }} as denominator,
        cast({{ parse_local_number('source.cohort') }} as integer) as cohort,
        coalesce(measures.uses_numerator_denominator, false) as uses_numerator_denominator,
        cast(source._source_file as varchar) as source_file,
        cast(source._file_sha256 as varchar) as file_sha256,
        cast(source._row_number as integer) as source_row_number,
        cast(source._landed_seq as integer) as landed_seq
    from source
    left join measures
        on
            source.dataset = measures.dataset
            and trim(source.measure_code) = measures.measure_code

),

final as (

    select
        dataset,
        urn,
        old_la_code,
        school_name,
        period_as_written,
        time_period,
        time_identifier,
        measure_code,
        source_column,
        value_as_written,
        cohort_as_written,
        numerator_as_written,
        denominator_as_written,
        numerator,
        denominator,
        cohort,
        case
            when uses_numerator_denominator
                then
                    case when denominator > 0 then numerator / denominator * 100 end
            else parsed_value
        end as value,
        case
            when uses_numerator_denominator
                then
                    case
                        when numerator is not null and denominator > 0 then 'published'
                        when numerator_as_written is null and denominator_as_written is null then 'not_available'
                        -- A zero denominator (no sessions possible) has no rate: nothing to publish.
                        when numerator is not null and denominator is not null then 'not_available'
                        else 'suppressed_at_source'
                    end
            when parsed_value is not null then 'published'
            when value_as_written is null then 'not_available'
            else 'suppressed_at_source'
        end as source_status,
        source_file,
        file_sha256,
        source_row_number,
        landed_seq
    from parsed

)

select * from final

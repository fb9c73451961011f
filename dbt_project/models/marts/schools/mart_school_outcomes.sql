-- School-level results for the council's own files, after disclosure control
-- (int_school_values_suppressed), beside the LA and England figures. Every comparison column is
-- NULL next to a withheld value, so nothing here lets a withheld value be worked out.
with

school_values as (

    select * from {{ ref('int_school_values_compared') }}

),

la_measures as (

    select * from {{ ref('fct_la_measure') }}
    where breakdown = 'all'

),

england as (

    select * from {{ ref('fct_area_measure') }}
    where
        breakdown = 'all'
        and area_level = 'national'

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

-- DfE's figures are annual (or calendar-year); a termly local value has no DfE comparator.
with_comparators as (

    select
        school_values.*,
        case
            when school_values.is_catalogue_measure then la_measures.value
            else school_values.school_aggregate_la_value
        end as la_value,
        case
            when school_values.is_catalogue_measure and la_measures.value is not null
                then 'DfE published LA figure (marts.fct_la_measure)'
            when not school_values.is_catalogue_measure and school_values.school_aggregate_la_value is not null
                then 'aggregate of the schools in the local file'
        end as la_value_source,
        case when school_values.is_catalogue_measure then england.value end as england_value
    from school_values
    left join la_measures
        on
            school_values.is_catalogue_measure
            and school_values.time_identifier in ('Academic year', 'Calendar year')
            and school_values.measure_code = la_measures.measure_code
            and school_values.time_period = la_measures.time_period
            and school_values.old_la_code = la_measures.old_la_code
    left join england
        on
            school_values.is_catalogue_measure
            and school_values.time_identifier in ('Academic year', 'Calendar year')
            and school_values.measure_code = england.measure_code
            and school_values.time_period = england.time_period

),

flagged as (

    select
        *,
        {{ school_difference('published_value', 'england_value', 'decimal_places') }} as diff_from_england
    from with_comparators

),

final as (

    select
        {{ school_identity_columns('flagged') }},
        cast(flagged.measure_code as varchar) as measure_code,
        cast(flagged.measure_label as varchar) as measure_label,
        cast(flagged.unit as varchar) as unit,
        cast(flagged.polarity as varchar) as polarity,
        cast(flagged.decimal_places as integer) as decimal_places,
        cast(flagged.is_headline as boolean) as is_headline,
        cast(flagged.is_catalogue_measure as boolean) as is_catalogue_measure,
        cast(flagged.time_period as integer) as time_period,
        cast({{ academic_year('flagged.time_period') }} as varchar) as academic_year,
        cast(flagged.time_identifier as varchar) as time_identifier,
        cast(flagged.cohort as integer) as cohort,
        cast(flagged.published_value as double) as value,
        cast(flagged.value_status as varchar) as value_status,
        cast(flagged.small_cohort as boolean) as small_cohort,
        cast(flagged.previous_time_period as integer) as previous_time_period,
        cast(flagged.previous_value as double) as previous_value,
        cast(flagged.change as double) as change,
        cast(flagged.la_value as double) as la_value,
        cast(flagged.la_value_source as varchar) as la_value_source,
        cast(flagged.england_value as double) as england_value,
        cast(flagged.diff_from_england as double) as diff_from_england,
        cast(
            case
                when flagged.diff_from_england is not null then
                    {{ is_worse('flagged.diff_from_england', 'flagged.polarity') }}
            end as boolean
        ) as below_national,
        cast(flagged.declining_two_years as boolean) as declining_two_years,
        cast(flagged.source_file as varchar) as data_source_file,
        cast(flagged.file_sha256 as varchar) as file_sha256,
        cast(flagged.source_row_number as integer) as source_row_number
    from flagged
    left join local_authorities
        on flagged.old_la_code = local_authorities.old_la_code

)

select * from final

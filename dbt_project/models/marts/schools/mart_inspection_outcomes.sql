-- Ofsted outcomes by LA and phase for each snapshot: how many schools, and how many pupils,
-- are in good or outstanding schools. Percentages are of the schools (pupils) that have a
-- single-word judgement, because inspections from September 2024 give report cards instead.
with

inspections as (

    select * from {{ ref('int_inspection_outcomes_matched') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

by_phase as (

    select
        old_la_code,
        coalesce(phase, 'Not recorded') as phase,
        as_at,
        overall_effectiveness_grade,
        judgement_basis,
        pupils
    from inspections
    where old_la_code is not null

),

aggregated as (

    select
        old_la_code,
        coalesce(phase, 'All schools') as phase,
        as_at,
        count(*) as schools,
        count(overall_effectiveness_grade) as schools_with_judgement,
        count(*) filter (where overall_effectiveness_grade <= 2) as schools_good_or_outstanding,
        sum(pupils) as pupils,
        sum(pupils) filter (where overall_effectiveness_grade is not null) as pupils_with_judgement,
        coalesce(sum(pupils) filter (where overall_effectiveness_grade <= 2), 0) as pupils_in_good_or_outstanding,
        count(*) filter (where overall_effectiveness_grade is null) as schools_without_single_word_judgement,
        count(*) filter (where judgement_basis = 'report card') as schools_with_report_card
    from by_phase
    group by grouping sets ((old_la_code, phase, as_at), (old_la_code, as_at))  -- noqa: PRS

),

final as (

    select
        cast(aggregated.old_la_code as varchar) as old_la_code,
        cast(local_authorities.la_code as varchar) as la_code,
        cast(local_authorities.la_name as varchar) as la_name,
        cast(aggregated.phase as varchar) as phase,
        cast(aggregated.as_at as date) as as_at,
        cast(aggregated.schools as integer) as schools,
        cast(aggregated.schools_with_judgement as integer) as schools_with_judgement,
        cast(aggregated.schools_good_or_outstanding as integer) as schools_good_or_outstanding,
        cast(round(100.0 * aggregated.schools_good_or_outstanding / nullif(aggregated.schools_with_judgement, 0), 1) as double)
            as pct_schools_good_or_outstanding,
        cast(aggregated.pupils as bigint) as pupils,
        cast(aggregated.pupils_in_good_or_outstanding as bigint) as pupils_in_good_or_outstanding,
        cast(round(100.0 * aggregated.pupils_in_good_or_outstanding / nullif(aggregated.pupils_with_judgement, 0), 1) as double)
            as pct_pupils_good_or_outstanding,
        cast(aggregated.schools_without_single_word_judgement as integer) as schools_without_single_word_judgement,
        cast(
            'Ofsted stopped single-word overall effectiveness judgements in September 2024; inspections since then use report cards. '
            || 'Schools here without a single-word judgement: '
            || aggregated.schools_without_single_word_judgement || ' of ' || aggregated.schools
            || case
                when aggregated.schools_with_report_card > 0
                    then ' (' || aggregated.schools_with_report_card || ' inspected under report cards)'
                else ''
            end
            || '; percentages are of the schools and pupils with one.'
            as varchar
        ) as note
    from aggregated
    left join local_authorities
        on aggregated.old_la_code = local_authorities.old_la_code

)

select * from final

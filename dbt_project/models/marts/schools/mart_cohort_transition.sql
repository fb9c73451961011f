-- The same pupils at KS2 and, five years later, at KS4 (KS2 in 2018/19 -> KS4 in 2023/24), per
-- LA: did the LA's position relative to England and to other LAs hold up? LA-level DfE figures
-- only, so it works without any local file. Pupils move between LAs and KS4 is counted where
-- the school is, so this is the same cohort only approximately.
with

la_measures as (

    select * from {{ ref('fct_la_measure') }}
    where breakdown = 'all'

),

breaks as (

    select
        *,
        length(replace(measure_pattern, '%', '')) as pattern_specificity
    from {{ ref('comparability_breaks') }}

),

ks2 as (

    select * from la_measures
    where measure_code = 'ks2_rwm_expected'

),

attainment8 as (

    select * from la_measures
    where measure_code = 'ks4_attainment8'

),

em_94 as (

    select * from la_measures
    where measure_code = 'ks4_em_94'

),

-- A KS2 year and its KS4 year five years on: 201819 + 505 = 202324.
cohort_keys as (

    select old_la_code, time_period as ks2_time_period from ks2
    union
    select old_la_code, time_period - 505 as ks2_time_period from attainment8
    union
    select old_la_code, time_period - 505 as ks2_time_period from em_94

),

-- Years that were not published or are comparable with no other year (the seed rows with no
-- series, or a one-year series such as KS4 2020/21 teacher assessed grades) carry a note that
-- matters for a cohort comparison too.
period_notes as (

    select
        measures.measure_code,
        breaks.first_period,
        breaks.last_period,
        breaks.note
    from (
        select distinct measure_code from la_measures
        where measure_code in ('ks2_rwm_expected', 'ks4_attainment8')
    ) as measures
    inner join breaks
        on measures.measure_code like breaks.measure_pattern
    where
        breaks.note is not null
        and (breaks.series is null or breaks.first_period = breaks.last_period)
    qualify breaks.pattern_specificity = max(breaks.pattern_specificity) over (partition by measures.measure_code)

),

joined as (

    select
        cohort_keys.old_la_code,
        cohort_keys.ks2_time_period,
        cohort_keys.ks2_time_period + 505 as ks4_time_period,
        coalesce(ks2.la_code, attainment8.la_code, em_94.la_code) as la_code,
        coalesce(ks2.la_name, attainment8.la_name, em_94.la_name) as la_name,
        ks2.value as ks2_rwm_expected_value,
        ks2.value_status as ks2_rwm_expected_status,
        ks2.national_value as ks2_rwm_expected_england,
        ks2.diff_vs_national as ks2_rwm_expected_diff_from_england,
        ks2.rank as ks2_rwm_expected_rank,
        ks2.ranked_count as ks2_rwm_expected_ranked_count,
        attainment8.value as ks4_attainment8_value,
        attainment8.value_status as ks4_attainment8_status,
        attainment8.national_value as ks4_attainment8_england,
        attainment8.diff_vs_national as ks4_attainment8_diff_from_england,
        attainment8.rank as ks4_attainment8_rank,
        attainment8.ranked_count as ks4_attainment8_ranked_count,
        em_94.value as ks4_em_94_value,
        em_94.value_status as ks4_em_94_status,
        em_94.national_value as ks4_em_94_england,
        em_94.diff_vs_national as ks4_em_94_diff_from_england,
        em_94.rank as ks4_em_94_rank,
        em_94.ranked_count as ks4_em_94_ranked_count
    from cohort_keys
    left join ks2
        on
            cohort_keys.old_la_code = ks2.old_la_code
            and cohort_keys.ks2_time_period = ks2.time_period
    left join attainment8
        on
            cohort_keys.old_la_code = attainment8.old_la_code
            and cohort_keys.ks2_time_period + 505 = attainment8.time_period
    left join em_94
        on
            cohort_keys.old_la_code = em_94.old_la_code
            and cohort_keys.ks2_time_period + 505 = em_94.time_period

),

with_notes as (

    select
        joined.*,
        nullif(concat_ws(
            ' ',
            case when ks2_rwm_expected_status is null then 'No KS2 row for ' || {{ academic_year('ks2_time_period') }} || '.' end,
            case
                when ks4_attainment8_status is null and ks4_em_94_status is null
                    then 'No KS4 row for ' || {{ academic_year('ks4_time_period') }} || ' yet.'
            end,
            (
                select string_agg(note, ' ') from period_notes
                where
                    period_notes.measure_code = 'ks2_rwm_expected'
                    and joined.ks2_time_period between coalesce(period_notes.first_period, 0) and coalesce(period_notes.last_period, 999999)
            ),
            (
                select string_agg(note, ' ') from period_notes
                where
                    period_notes.measure_code = 'ks4_attainment8'
                    and joined.ks4_time_period between coalesce(period_notes.first_period, 0) and coalesce(period_notes.last_period, 999999)
            )
        ), '') as comparability_note
    from joined

),

final as (

    select
        cast(old_la_code as varchar) as old_la_code,
        cast(la_code as varchar) as la_code,
        cast(la_name as varchar) as la_name,
        cast(ks2_time_period as integer) as ks2_time_period,
        cast({{ academic_year('ks2_time_period') }} as varchar) as ks2_academic_year,
        cast(ks4_time_period as integer) as ks4_time_period,
        cast({{ academic_year('ks4_time_period') }} as varchar) as ks4_academic_year,
        cast(ks2_rwm_expected_value as double) as ks2_rwm_expected_value,
        cast(ks2_rwm_expected_status as varchar) as ks2_rwm_expected_status,
        cast(ks2_rwm_expected_england as double) as ks2_rwm_expected_england,
        cast(ks2_rwm_expected_diff_from_england as double) as ks2_rwm_expected_diff_from_england,
        cast(ks2_rwm_expected_rank as integer) as ks2_rwm_expected_rank,
        cast(ks2_rwm_expected_ranked_count as integer) as ks2_rwm_expected_ranked_count,
        cast(ks4_attainment8_value as double) as ks4_attainment8_value,
        cast(ks4_attainment8_status as varchar) as ks4_attainment8_status,
        cast(ks4_attainment8_england as double) as ks4_attainment8_england,
        cast(ks4_attainment8_diff_from_england as double) as ks4_attainment8_diff_from_england,
        cast(ks4_attainment8_rank as integer) as ks4_attainment8_rank,
        cast(ks4_attainment8_ranked_count as integer) as ks4_attainment8_ranked_count,
        cast(ks4_em_94_value as double) as ks4_em_94_value,
        cast(ks4_em_94_status as varchar) as ks4_em_94_status,
        cast(ks4_em_94_england as double) as ks4_em_94_england,
        cast(ks4_em_94_diff_from_england as double) as ks4_em_94_diff_from_england,
        cast(ks4_em_94_rank as integer) as ks4_em_94_rank,
        cast(ks4_em_94_ranked_count as integer) as ks4_em_94_ranked_count,
        -- Positive = the LA ranks higher (better) at KS4 than the same cohort did at KS2.
        cast(ks2_rwm_expected_rank - ks4_attainment8_rank as integer) as attainment8_rank_change,
        cast(ks2_rwm_expected_rank - ks4_em_94_rank as integer) as em_94_rank_change,
        -- Position as a percentile (100 = best, 0 = worst) so years with different numbers of
        -- ranked LAs compare; the change is KS4 minus KS2.
        cast(round(
            100.0 * (ks4_attainment8_ranked_count - ks4_attainment8_rank) / nullif(ks4_attainment8_ranked_count - 1, 0)
            - 100.0 * (ks2_rwm_expected_ranked_count - ks2_rwm_expected_rank) / nullif(ks2_rwm_expected_ranked_count - 1, 0),
            1
        ) as double) as attainment8_percentile_change,
        cast(comparability_note as varchar) as comparability_note
    from with_notes

)

select * from final

-- Disclosure control for school-level values (README "School-level view").
--
-- Primary: a value about fewer than EDU_SCHOOL_MIN_COHORT pupils (default 11; DfE's performance
-- tables withhold 5 or fewer) is withheld; so is one whose cohort is unknown, because nothing shows it is large
-- enough.
--
-- Secondary, per old_la_code x measure x period x term: assume an attacker knows the LA total
-- exactly (DfE's LA figure x the LA cohort, or the sum of all schools), every published value
-- and every cohort. Then of the withheld set S they know X = sum(value x cohort) and
-- N = sum(cohort), and each member's own total lies in
-- [max(lo x n, X - hi x (N - n)), min(hi x n, X - lo x (N - n))] (lo, hi: the measure's bounds).
-- For a percentage of whole pupils the totals are pupil counts, so only whole counts in that
-- interval remain possible. S is safe when S has at least two schools with pupils and for every
-- member at least EDU_SCHOOL_MIN_POSSIBILITIES counts stay possible (or all the cohort allows,
-- when fewer) and the interval is at least EDU_SCHOOL_MIN_INTERVAL_PERCENT of the measure's range.
-- While S is not safe the next school in order of cohort ascending, then URN, is withheld as
-- well. (Two schools of 10 and 1 pupils with 8 passes between them leave the larger at 70% or
-- 80%: two possibilities, so a third school is withheld.) A value withheld at source is unknown
-- to us but in the attacker's total: S is then checked at both ends of what that total can be. A
-- school whose cohort nobody knows gives no cover. Where even withholding every school leaves a
-- value narrowed, all are withheld and is_group_total_safe says no total of them may be shown.
with

school_values as (

    select * from {{ ref('stg_local__school_values') }}

),

measures as (

    select * from {{ ref('stg_local__measures') }}

),

schools as (

    select * from {{ ref('stg_local__schools') }}

),

catalogue as (

    select * from {{ ref('measure_catalogue') }}
    where breakdown = 'all'

),

-- The register row landed last wins when a school appears in two register files.
register as (

    {{ latest_register_rows('schools') }}

),

-- A catalogue code takes DfE's label, unit and polarity so school and LA figures read alike;
-- local codes use their schema file. Percentages are bounded 0-100 unless the schema narrows it.
measure_attributes as (

    select
        measures.dataset,
        measures.measure_code,
        catalogue.measure_code is not null as is_catalogue_measure,
        coalesce(measures.label, catalogue.measure_name, measures.measure_code) as measure_label,
        coalesce(
            catalogue.unit,
            case when measures.unit = 'percent' then '%' else 'score' end
        ) as unit,
        coalesce(catalogue.polarity, measures.polarity, 'high') as polarity,
        coalesce(measures.decimal_places, catalogue.decimal_places, 1) as decimal_places,
        measures.is_headline,
        measures.phase as measure_phase,
        measures.uses_numerator_denominator,
        coalesce(
            measures.value_min,
            case when measures.unit = 'percent' or (measures.unit is null and catalogue.unit = '%') then 0 end
        ) as value_lower_bound,
        coalesce(
            measures.value_max,
            case when measures.unit = 'percent' or (measures.unit is null and catalogue.unit = '%') then 100 end
        ) as value_upper_bound
    from measures
    left join catalogue
        on measures.measure_code = catalogue.measure_code
    qualify row_number() over (partition by measures.dataset, measures.measure_code order by measures.landed_seq desc) = 1

),

-- A value re-landed in a later file (a corrected copy) replaces the earlier one.
latest_values as (

    select *
    from school_values
    where
        urn is not null
        and measure_code is not null
        and time_period is not null
    qualify row_number() over (
        partition by urn, measure_code, time_period, time_identifier
        order by landed_seq desc, source_row_number desc
    ) = 1

),

primary_suppressed as (

    select
        latest_values.urn,
        coalesce(register.school_name, latest_values.school_name) as school_name,
        coalesce(register.old_la_code, latest_values.old_la_code) as old_la_code,
        register.phase,
        latest_values.dataset,
        latest_values.measure_code,
        measure_attributes.measure_label,
        measure_attributes.unit,
        measure_attributes.polarity,
        measure_attributes.decimal_places,
        coalesce(measure_attributes.is_headline, false) as is_headline,
        coalesce(measure_attributes.is_catalogue_measure, false) as is_catalogue_measure,
        coalesce(measure_attributes.uses_numerator_denominator, false) as uses_numerator_denominator,
        measure_attributes.value_lower_bound,
        measure_attributes.value_upper_bound,
        latest_values.time_period,
        latest_values.time_identifier,
        latest_values.cohort,
        latest_values.numerator,
        latest_values.denominator,
        latest_values.value,
        latest_values.source_status,
        latest_values.cohort < {{ school_min_cohort() }} as small_cohort,
        case
            when latest_values.source_status <> 'published' then latest_values.source_status
            when latest_values.cohort is null or latest_values.cohort < {{ school_min_cohort() }} then 'suppressed_small_cohort'
            else 'published'
        end as primary_status,
        latest_values.source_file,
        latest_values.file_sha256,
        latest_values.source_row_number
    from latest_values
    left join register
        on latest_values.urn = register.urn
    left join measure_attributes
        on
            latest_values.dataset = measure_attributes.dataset
            and latest_values.measure_code = measure_attributes.measure_code

),

-- Every school with a value (published or withheld) is a candidate, withheld ones first: they
-- are in S whatever happens, the rest join it smallest cohort first.
ordered_candidates as (

    select
        *,
        primary_status in ('suppressed_small_cohort', 'suppressed_at_source') as is_primary_withheld,
        -- What an attacker could not reconstruct even with the LA total: a value the source
        -- withheld, or a school whose cohort is unknown.
        primary_status = 'suppressed_at_source' or cohort is null as is_unknown_to_attacker,
        -- A percentage of the cohort's pupils (a measure, not a row, property: the files may write
        -- it coarser than the measure's decimal places): its total, value x cohort, is 100 x a
        -- whole number of pupils. Read so even where the value is of sessions, say, it only
        -- makes the check stricter.
        coalesce(
            unit = '%' and value_lower_bound = 0 and value_upper_bound = 100 and not uses_numerator_denominator,
            false
        ) as is_pupil_count,
        row_number() over candidate_order as candidate_position
    from primary_suppressed
    where primary_status <> 'not_available'
    window candidate_order as (
        partition by old_la_code, measure_code, time_period, time_identifier
        order by
            case when primary_status in ('suppressed_small_cohort', 'suppressed_at_source') then 0 else 1 end,
            cohort nulls first,
            urn
    )

),

candidate_totals as (

    select
        *,
        case when is_pupil_count then 100 * round(value * cohort / 100.0) else value * cohort end as member_total,
        -- a whole percentage of 100 or more pupils may stand for either of two counts: the
        -- attacker's total is then known to us within a pupil either way
        case when is_pupil_count and cohort >= 100 and value is not null then 100 else 0 end as member_total_slack,
        -- a value unknown to us, of a known cohort: the attacker's total includes it, anywhere in
        -- its bounds
        case when primary_status = 'suppressed_at_source' then cohort end as unknown_value_cohort
    from ordered_candidates

),

prefix_totals as (

    select
        *,
        count(*) filter (where is_primary_withheld) over suppression_group as primary_withheld_count,
        count(*) over suppression_group as candidate_count,
        -- Schools with pupils: a zero-cohort member, or one whose cohort nobody knows, hides
        -- nothing about the others.
        count(*) filter (where coalesce(cohort, 0) > 0) over prefix as prefix_schools_with_pupils,
        sum(cast(coalesce(cohort, 0) as double)) over prefix as prefix_cohort,
        coalesce(sum(member_total) over prefix, 0) as prefix_known_total,
        sum(member_total_slack) over prefix as prefix_total_slack,
        coalesce(sum(cast(unknown_value_cohort as double)) over prefix, 0) as prefix_unknown_cohort
    from candidate_totals
    window
        suppression_group as (partition by old_la_code, measure_code, time_period, time_identifier),
        prefix as (
            partition by old_la_code, measure_code, time_period, time_identifier
            order by candidate_position
            rows between unbounded preceding and current row
        )

),

-- For "withhold the first candidate_position candidates" (only prefixes that hold every primary-
-- withheld school can be chosen): the interval each of those schools' totals lies in, given the
-- prefix's total X and cohort and every other member's bounds. With a value unknown to us in the
-- prefix (or a count a whole percentage cannot pin), X is anywhere from its lowest to its highest;
-- a member's interval is narrowest at one of those ends, so both are checked.
prefix_ends as (

    select
        prefix_totals.*,
        prefix_known_total
        + case when ends.at_upper then prefix_total_slack else -prefix_total_slack end
        + coalesce(case when ends.at_upper then value_upper_bound else value_lower_bound end, 0) * prefix_unknown_cohort
            as total_at_end
    from prefix_totals
    cross join (values (false), (true)) as ends (at_upper)
    where
        primary_withheld_count > 0
        and candidate_position >= primary_withheld_count

),

member_intervals as (

    select
        prefix.old_la_code,
        prefix.measure_code,
        prefix.time_period,
        prefix.time_identifier,
        prefix.candidate_position,
        member.cohort as member_cohort,
        member.is_pupil_count,
        prefix.value_lower_bound,
        prefix.value_upper_bound,
        greatest(
            coalesce(prefix.value_lower_bound * member.cohort, cast('-infinity' as double)),
            prefix.total_at_end
            - coalesce(prefix.value_upper_bound * (prefix.prefix_cohort - member.cohort), cast('infinity' as double))
        ) as total_low,
        least(
            coalesce(prefix.value_upper_bound * member.cohort, cast('infinity' as double)),
            prefix.total_at_end
            - coalesce(prefix.value_lower_bound * (prefix.prefix_cohort - member.cohort), cast('-infinity' as double))
        ) as total_high
    from prefix_ends as prefix
    inner join prefix_totals as member
        on
            prefix.old_la_code is not distinct from member.old_la_code
            and prefix.measure_code = member.measure_code
            and prefix.time_period = member.time_period
            and prefix.time_identifier is not distinct from member.time_identifier
            and member.candidate_position <= prefix.candidate_position
    where
        member.cohort > 0
        -- a member that is the prefix's only pupils is pinned: the two-school rule refuses it
        and prefix.prefix_cohort > member.cohort

),

-- A member is hidden well enough when its interval keeps the stated width and, for a percentage of
-- pupils, the stated number of whole counts (or every count its cohort allows). The small
-- tolerance keeps a value computed as 29/29*100 = 99.99999... from passing as "below 100".
prefix_narrowing as (

    select
        old_la_code,
        measure_code,
        time_period,
        time_identifier,
        candidate_position,
        bool_and(
            (total_high - total_low) / member_cohort
            >= case
                when value_lower_bound is not null and value_upper_bound is not null
                    then {{ school_min_interval_percent() }} / 100.0 * (value_upper_bound - value_lower_bound) - 1e-6
                else 1e-6
            end
            and (
                not is_pupil_count
                or floor(total_high / 100.0 + 1e-6) - ceil(total_low / 100.0 - 1e-6) + 1
                >= least({{ school_min_possibilities() }}, member_cohort + 1)
            )
        ) as members_hidden
    from member_intervals
    group by old_la_code, measure_code, time_period, time_identifier, candidate_position

),

prefix_checked as (

    select
        prefix_totals.*,
        prefix_totals.prefix_schools_with_pupils >= 2 and coalesce(prefix_narrowing.members_hidden, false) as prefix_is_safe
    from prefix_totals
    left join prefix_narrowing
        on
            prefix_totals.old_la_code is not distinct from prefix_narrowing.old_la_code
            and prefix_totals.measure_code = prefix_narrowing.measure_code
            and prefix_totals.time_period = prefix_narrowing.time_period
            and prefix_totals.time_identifier is not distinct from prefix_narrowing.time_identifier
            and prefix_totals.candidate_position = prefix_narrowing.candidate_position

),

withheld_count_chosen as (

    select
        *,
        case
            when primary_withheld_count = 0 then 0
            -- The smallest safe prefix that contains every primary-withheld school; when none is
            -- safe every school in the group is withheld.
            else coalesce(
                min(case when prefix_is_safe and candidate_position >= primary_withheld_count then candidate_position end)
                    over (partition by old_la_code, measure_code, time_period, time_identifier),
                candidate_count
            )
        end as withheld_count
    from prefix_checked

),

group_outcomes as (

    select
        *,
        -- False when even withholding everything leaves a school's value derivable from the
        -- group total: then no LA aggregate of these schools may be shown.
        withheld_count = 0
        or bool_or(prefix_is_safe and candidate_position = withheld_count)
            over (partition by old_la_code, measure_code, time_period, time_identifier)
            as is_group_total_safe,
        bool_or(is_unknown_to_attacker)
            over (partition by old_la_code, measure_code, time_period, time_identifier)
            as group_has_unknown_value
    from withheld_count_chosen

),

final as (

    select
        primary_suppressed.urn,
        primary_suppressed.school_name,
        primary_suppressed.old_la_code,
        primary_suppressed.phase,
        primary_suppressed.dataset,
        primary_suppressed.measure_code,
        primary_suppressed.measure_label,
        primary_suppressed.unit,
        primary_suppressed.polarity,
        primary_suppressed.decimal_places,
        primary_suppressed.is_headline,
        primary_suppressed.is_catalogue_measure,
        primary_suppressed.uses_numerator_denominator,
        primary_suppressed.value_lower_bound,
        primary_suppressed.value_upper_bound,
        primary_suppressed.time_period,
        primary_suppressed.time_identifier,
        primary_suppressed.cohort,
        primary_suppressed.numerator,
        primary_suppressed.denominator,
        -- The value as read, kept for the LA aggregate; only value_status = 'published' may be shown.
        primary_suppressed.value as unsuppressed_value,
        primary_suppressed.source_status,
        coalesce(primary_suppressed.small_cohort, false) as small_cohort,
        case
            when primary_suppressed.primary_status <> 'published' then primary_suppressed.primary_status
            when group_outcomes.candidate_position <= group_outcomes.withheld_count then 'suppressed_secondary'
            else 'published'
        end as value_status,
        coalesce(group_outcomes.is_group_total_safe, true) as is_group_total_safe,
        coalesce(group_outcomes.group_has_unknown_value, false) as group_has_unknown_value,
        primary_suppressed.source_file,
        primary_suppressed.file_sha256,
        primary_suppressed.source_row_number
    from primary_suppressed
    left join group_outcomes
        on
            primary_suppressed.urn = group_outcomes.urn
            and primary_suppressed.measure_code = group_outcomes.measure_code
            and primary_suppressed.time_period = group_outcomes.time_period
            and primary_suppressed.time_identifier is not distinct from group_outcomes.time_identifier

)

select * from final

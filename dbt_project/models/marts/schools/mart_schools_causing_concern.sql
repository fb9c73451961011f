-- The termly list a schools-causing-concern protocol starts from: each enabled rule of the
-- school_concern_rules seed applied to each school's latest period (results) or the latest
-- Ofsted snapshot (inspections). Rules read only published values, so a withheld value can
-- neither put a school on the list nor be inferred from its absence.
with

rules as (

    select * from {{ ref('school_concern_rules') }}
    where enabled

),

school_outcomes as (

    select * from {{ ref('mart_school_outcomes') }}

),

inspections as (

    select * from {{ ref('int_inspection_outcomes_matched') }}

),

local_authorities as (

    select * from {{ ref('dim_local_authority') }}

),

-- Results rules apply to the measure they name, or (blank) to every headline measure.
results_rule_measures as (

    select
        rules.rule_id,
        rules.rule_type,
        rules.description as rule_description,
        coalesce(rules.years, 1) as years,
        school_outcomes.*,
        -- Terms order after the academic year they belong to; a term's position is its order.
        school_outcomes.time_period * 10 + case school_outcomes.time_identifier
            when 'Autumn term' then 1 when 'Spring term' then 2 when 'Summer term' then 3 else 0
        end as period_order
    from rules
    inner join school_outcomes
        on
            (rules.measure_code = school_outcomes.measure_code)
            or (rules.measure_code is null and school_outcomes.is_headline)
    where rules.rule_type in ('below_national_and_declining', 'below_national_for_years')

),

-- Newest first per school and measure: position 1 is the school's latest period, whatever its
-- status, so an older published year never stands in for a withheld latest one.
results_ranked as (

    select
        *,
        row_number() over (partition by rule_id, urn, measure_code order by period_order desc) as recency
    from results_rule_measures

),

below_and_declining as (

    select
        *,
        cast(null as integer) as periods_checked,
        cast(null as varchar) as history_text
    from results_ranked
    where
        rule_type = 'below_national_and_declining'
        and recency = 1
        and value_status = 'published'
        and below_national
        and declining_two_years

),

-- The last N periods must all be published and worse than England.
below_for_years as (

    select
        latest.*,
        history.periods_checked,
        history.history_text
    from results_ranked as latest
    inner join (  -- noqa: ST05
        select
            rule_id,
            urn,
            measure_code,
            count(*) as periods_checked,
            string_agg(
                {{ format_school_value('value', 'decimal_places', 'unit') }} || ' in ' || academic_year
                || ' (England ' || {{ format_school_value('england_value', 'decimal_places', 'unit') }} || ')',
                ', ' order by period_order
            ) as history_text
        from results_ranked
        where
            rule_type = 'below_national_for_years'
            and recency <= years
            and value_status = 'published'
            and below_national
        group by rule_id, urn, measure_code
    ) as history
        on
            latest.rule_id = history.rule_id
            and latest.urn = history.urn
            and latest.measure_code = history.measure_code
    where
        latest.recency = 1
        and history.periods_checked = latest.years

),

results_met as (

    select * from below_and_declining
    union all by name
    select * from below_for_years

),

-- The previous two values behind "down two years running", for the sentence.
results_with_reason as (

    select
        results_met.*,
        earlier.academic_year as second_previous_academic_year,
        earlier.value as second_previous_value,
        case
            when results_met.rule_type = 'below_national_and_declining'
                then
                    results_met.measure_label
                    || ' '
                    || {{ format_school_value('results_met.value', 'results_met.decimal_places', 'results_met.unit') }}
                    || ' in ' || results_met.academic_year
                    || case when results_met.time_identifier like '% term' then ' (' || results_met.time_identifier || ')' else '' end
                    || ', ' || {{ polarity_word('results_met.polarity', 'above', 'below') }}
                    || ' England ('
                    || {{ format_school_value('results_met.england_value', 'results_met.decimal_places', 'results_met.unit') }}
                    || ')'
                    || ', ' || {{ polarity_word('results_met.polarity', 'up', 'down') }} || ' two years running ('
                    || {{ format_school_value('earlier.value', 'results_met.decimal_places', 'results_met.unit') }}
                    || ' in '
                    || earlier.academic_year
                    || ', ' || {{ format_school_value('results_met.previous_value', 'results_met.decimal_places', 'results_met.unit') }}
                    || ' in ' || {{ academic_year('results_met.previous_time_period') }} || ')'
            else
                results_met.measure_label || ' ' || {{ polarity_word('results_met.polarity', 'above', 'below') }}
                || ' England in each of the last ' || results_met.periods_checked || ' published years: '
                || results_met.history_text
        end as reason
    from results_met
    left join school_outcomes as previous
        on
            results_met.rule_type = 'below_national_and_declining'
            and {{ same_school_series('results_met', 'previous') }}
            and results_met.previous_time_period = previous.time_period
    left join school_outcomes as earlier
        on
            {{ same_school_series('previous', 'earlier') }}
            and previous.previous_time_period = earlier.time_period

),

latest_snapshot as (

    select * from inspections  -- noqa: AL04
    where as_at = (select max(as_at) from inspections)

),

inspection_met as (

    select
        rules.rule_id,
        rules.rule_type,
        rules.description as rule_description,
        latest_snapshot.*,
        coalesce(latest_snapshot.school_name, 'URN ' || latest_snapshot.urn)
        || ': latest Ofsted overall effectiveness ' || latest_snapshot.overall_effectiveness_label
        || ' (grade ' || latest_snapshot.overall_effectiveness_grade || ')'
        || coalesce(', inspected ' || strftime(latest_snapshot.inspection_date, '%-d %B %Y'), '')
        || ', in Ofsted''s data as at ' || strftime(latest_snapshot.as_at, '%-d %B %Y') as reason
    from rules
    cross join latest_snapshot
    where
        rules.rule_type = 'inspection_below_good'
        and latest_snapshot.overall_effectiveness_grade in (3, 4)

),

-- Every row names its school and rule (one list, so the two branches cannot drift apart);
-- results rows add the value, inspection rows the judgement.
{% set rule_row_columns = ['urn', 'school_name', 'old_la_code', 'phase', 'rule_id', 'rule_type', 'rule_description'] %}
combined as (

    select
        {{ rule_row_columns | join(', ') }},
        measure_code,
        measure_label,
        time_period,
        academic_year,
        time_identifier,
        value,
        england_value,
        previous_value,
        cast(null as integer) as inspection_grade,
        cast(null as varchar) as inspection_judgement,
        cast(null as date) as inspection_date,
        cast(null as date) as inspection_as_at,
        reason
    from results_with_reason

    union all

    select
        {{ rule_row_columns | join(', ') }},
        null as measure_code,
        null as measure_label,
        null as time_period,
        null as academic_year,
        null as time_identifier,
        null as value,
        null as england_value,
        null as previous_value,
        overall_effectiveness_grade as inspection_grade,
        overall_effectiveness_label as inspection_judgement,
        inspection_date,
        as_at as inspection_as_at,
        reason
    from inspection_met

),

final as (

    select
        {{ school_identity_columns('combined') }},
        cast(combined.rule_id as varchar) as rule_id,
        cast(combined.rule_type as varchar) as rule_type,
        cast(combined.rule_description as varchar) as rule_description,
        cast(combined.measure_code as varchar) as measure_code,
        cast(combined.measure_label as varchar) as measure_label,
        cast(combined.time_period as integer) as time_period,
        cast(combined.academic_year as varchar) as academic_year,
        cast(combined.time_identifier as varchar) as time_identifier,
        cast(combined.value as double) as value,
        cast(combined.england_value as double) as england_value,
        cast(combined.previous_value as double) as previous_value,
        cast(combined.inspection_grade as integer) as inspection_grade,
        cast(combined.inspection_judgement as varchar) as inspection_judgement,
        cast(combined.inspection_date as date) as inspection_date,
        cast(combined.inspection_as_at as date) as inspection_as_at,
        cast(combined.reason as varchar) as reason
    from combined
    left join local_authorities
        on combined.old_la_code = local_authorities.old_la_code

)

select * from final

{#-
    One wide row per LA x period for a phase mart: for each headline measure (breakdown 'all')
    its value, status, England value, the previous comparable period and the change since it,
    rank, quartile band and comparability note; for measures split by disadvantage
    (gap_measures) both halves, the gap (disadvantaged minus not disadvantaged), its change and
    England's gap; the same for measures split by free school meal eligibility
    (fsm_gap_measures: FSM eligible minus not eligible). The column list is fixed here rather than
    read from the catalogue because these marts have enforced contracts: new catalogue measures
    reach fct_la_measure at once and a phase mart when it is deliberately extended.
-#}
{% macro phase_wide_mart(measures, gap_measures=[], fsm_gap_measures=[]) -%}
with

la_measures as (

    select * from {{ ref('fct_la_measure') }}
    where measure_code in ({% for m in measures %}'{{ m }}'{{ ', ' if not loop.last }}{% endfor %})

),

{%- set gap_columns = [] -%}
{%- for m in gap_measures -%}
    {%- do gap_columns.append({'measure': m, 'gap_type': 'disadvantage', 'cte': m ~ '_disadvantage_gap',
                               'group': m ~ '_disadvantaged', 'comparison': m ~ '_not_disadvantaged',
                               'gap': m ~ '_disadvantage_gap', 'national_gap': m ~ '_national_disadvantage_gap'}) -%}
{%- endfor -%}
{%- for m in fsm_gap_measures -%}
    {%- do gap_columns.append({'measure': m, 'gap_type': 'fsm', 'cte': m ~ '_fsm_gap',
                               'group': m ~ '_fsm_eligible', 'comparison': m ~ '_not_fsm_eligible',
                               'gap': m ~ '_fsm_gap', 'national_gap': m ~ '_national_fsm_gap'}) -%}
{%- endfor %}

gaps as (

    select * from {{ ref('int_disadvantage_gap_compared') }}
    {%- if gap_columns %}
    where {% for g in gap_columns %}(measure_code = '{{ g.measure }}' and gap_type = '{{ g.gap_type }}'){{ ' or ' if not loop.last }}{% endfor %}
    {%- else %}
    where false
    {%- endif %}

),

la_periods as (

    select
        time_period,
        old_la_code,
        any_value(academic_year) as academic_year,
        any_value(la_code) as la_code,
        any_value(la_name) as la_name,
        any_value(region_code) as region_code,
        any_value(region_name) as region_name,
        -- which releases the row's figures come from ('final', or e.g. 'final, provisional')
        string_agg(distinct release, ', ' order by release) as releases
    from la_measures
    group by time_period, old_la_code

),

headline as (

    select
        time_period,
        old_la_code,
        {%- for m in measures %}
        max(value) filter (where measure_code = '{{ m }}') as {{ m }}_value,
        max(value_status) filter (where measure_code = '{{ m }}') as {{ m }}_status,
        max(national_value) filter (where measure_code = '{{ m }}') as {{ m }}_national_value,
        max(previous_time_period) filter (where measure_code = '{{ m }}') as {{ m }}_previous_time_period,
        max(change_vs_previous) filter (where measure_code = '{{ m }}') as {{ m }}_change_vs_previous,
        max(rank) filter (where measure_code = '{{ m }}') as {{ m }}_rank,
        max(quartile_band) filter (where measure_code = '{{ m }}') as {{ m }}_quartile_band,
        max(comparability_note) filter (where measure_code = '{{ m }}') as {{ m }}_comparability_note{{ ',' if not loop.last }}
        {%- endfor %}
    from la_measures
    where breakdown = 'all'
    group by time_period, old_la_code

),

{%- for g in gap_columns %}

{{ g.cte }} as (

    select
        la_gap.time_period,
        la_gap.area_code as old_la_code,
        la_gap.disadvantaged_value as {{ g.group }}_value,
        la_gap.not_disadvantaged_value as {{ g.comparison }}_value,
        la_gap.disadvantage_gap as {{ g.gap }},
        la_gap.disadvantage_gap_change_vs_previous as {{ g.gap }}_change_vs_previous,
        national_gap.disadvantage_gap as {{ g.national_gap }}
    from gaps as la_gap
    left join gaps as national_gap
        on national_gap.area_level = 'national'
        and national_gap.measure_code = la_gap.measure_code
        and national_gap.gap_type = la_gap.gap_type
        and national_gap.time_period = la_gap.time_period
    where la_gap.area_level = 'local_authority'
      and la_gap.measure_code = '{{ g.measure }}'
      and la_gap.gap_type = '{{ g.gap_type }}'

),
{%- endfor %}

final as (

    select
        cast(la_periods.time_period as integer) as time_period,
        cast(la_periods.academic_year as varchar) as academic_year,
        cast(la_periods.la_code as varchar) as la_code,
        cast(la_periods.old_la_code as varchar) as old_la_code,
        cast(la_periods.la_name as varchar) as la_name,
        cast(la_periods.region_code as varchar) as region_code,
        cast(la_periods.region_name as varchar) as region_name,
        {%- for m in measures %}
        cast(headline.{{ m }}_value as double) as {{ m }}_value,
        cast(headline.{{ m }}_status as varchar) as {{ m }}_status,
        cast(headline.{{ m }}_national_value as double) as {{ m }}_national_value,
        cast(headline.{{ m }}_change_vs_previous as double) as {{ m }}_change_vs_previous,
        cast(headline.{{ m }}_rank as integer) as {{ m }}_rank,
        cast(headline.{{ m }}_quartile_band as varchar) as {{ m }}_quartile_band,
        {%- endfor %}
        {%- for g in gap_columns %}
        cast({{ g.cte }}.{{ g.group }}_value as double) as {{ g.group }}_value,
        cast({{ g.cte }}.{{ g.comparison }}_value as double) as {{ g.comparison }}_value,
        cast({{ g.cte }}.{{ g.gap }} as double) as {{ g.gap }},
        cast({{ g.cte }}.{{ g.gap }}_change_vs_previous as double) as {{ g.gap }}_change_vs_previous,
        cast({{ g.cte }}.{{ g.national_gap }} as double) as {{ g.national_gap }},
        {%- endfor %}
        {%- for m in measures %}
        cast(headline.{{ m }}_previous_time_period as integer) as {{ m }}_previous_time_period,
        cast(headline.{{ m }}_comparability_note as varchar) as {{ m }}_comparability_note,
        {%- endfor %}
        cast(la_periods.releases as varchar) as releases
    from la_periods
    left join headline
        on la_periods.time_period = headline.time_period
        and la_periods.old_la_code = headline.old_la_code
    {%- for g in gap_columns %}
    left join {{ g.cte }}
        on la_periods.time_period = {{ g.cte }}.time_period
        and la_periods.old_la_code = {{ g.cte }}.old_la_code
    {%- endfor %}

)

select * from final
{%- endmacro %}

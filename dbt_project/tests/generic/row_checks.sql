{% test row_checks(model, key=[], unique=[], not_null=[], accepted_values={}) %}
-- A model's row checks in one query: the ``key`` columns together occur once per row (NULLs
-- group together), each ``unique`` column's non-NULL values occur once, the ``not_null`` columns
-- are never NULL, and each column of ``accepted_values`` holds one of its values (or NULL, which
-- ``not_null`` judges). Every model and seed states its checks this way, one test each, not one
-- per column, because each dbt test costs the build about 25 ms of dbt's own Python, and dbt's
-- Python is the build's bottleneck: dbt's per-column tests were 150 of the build's 248 nodes.
-- Fails with one row per problem: the check, the column(s), the offending value (the key's for a
-- duplicate) and how many rows. The failure count is what dbt's own tests would count:
-- duplicated keys and values, NULL rows, distinct values not accepted.
{{ config(fail_calc="coalesce(sum(case when failed_check = 'not_null' then row_count else 1 end), 0)") }}

-- no rows: it gives the result its column types, whichever checks follow
select
    null::varchar as failed_check,
    null::varchar as column_name,
    null::varchar as value,
    0::bigint as row_count
where false
{% if key %}
    union all
    select
        'unique' as failed_check,
        '{{ key | join(", ") }}' as column_name,
        concat_ws(', '{% for column in key %}, coalesce({{ column }}::varchar, 'NULL'){% endfor %}) as value,
        count(*) as row_count
    from {{ model }}
    group by {{ key | join(", ") }}
    having count(*) > 1
{% endif %}
{% for column in unique %}
    union all
    select
        'unique' as failed_check,
        '{{ column }}' as column_name,
        {{ column }}::varchar as value,
        count(*) as row_count
    from {{ model }}
    where {{ column }} is not null
    group by {{ column }}
    having count(*) > 1
{% endfor %}
{% for column in not_null %}
    union all
    select
        'not_null' as failed_check,
        '{{ column }}' as column_name,
        null as value,
        count(*) as row_count
    from {{ model }}
    where {{ column }} is null
    having count(*) > 0
{% endfor %}
{% for column, values in accepted_values.items() %}
    union all
    select
        'accepted_values' as failed_check,
        '{{ column }}' as column_name,
        {{ column }}::varchar as value,
        count(*) as row_count
    from {{ model }}
    where {{ column }}::varchar not in (
        {%- for accepted in values %}'{{ accepted | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
    )
    group by {{ column }}
{% endfor %}

{% endtest %}

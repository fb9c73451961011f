{% test staging_rows(model, key, not_null=[], accepted_values={}) %}
-- A staging view's row checks in one query: every ``key`` occurs once, the ``not_null`` columns
-- are never NULL, and each column of ``accepted_values`` holds one of its values (or NULL, which
-- ``not_null`` judges). They are one test, not one per column, because each dbt test costs the
-- build about 25 ms of dbt's own Python, and dbt's Python is the build's bottleneck: the EES
-- staging views' checks were 44 of the build's 267 nodes. Fails with one row per problem: the
-- check, the column(s), the offending value (the key's for a duplicate) and how many rows. The
-- failure count is what dbt's own tests would count: duplicated keys, NULL rows, distinct values.
{{ config(fail_calc="coalesce(sum(case when failed_check = 'not_null' then row_count else 1 end), 0)") }}

select
    'unique' as failed_check,
    '{{ key | join(", ") }}' as column_name,
    concat_ws(', '{% for column in key %}, coalesce({{ column }}::varchar, 'NULL'){% endfor %}) as value,
    count(*) as row_count
from {{ model }}
group by {{ key | join(", ") }}
having count(*) > 1
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
    where {{ column }} not in ('{{ values | join("', '") }}')
    group by {{ column }}
{% endfor %}

{% endtest %}

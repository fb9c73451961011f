{#- Fails with one row per key value that occurs more than once: the grain test every model's
    YAML uses (dbt_utils is not installed, and a project-owned test keeps the gate offline). -#}
{% test unique_combination(model, columns) %}

select
    {% for column in columns %}{{ column }}, {% endfor %}
    count(*) as occurrences
from {{ model }}
group by {% for column in columns %}{{ column }}{{ ', ' if not loop.last }}{% endfor %}
having count(*) > 1

{% endtest %}

{#- Post-hook of every model and seed (dbt_project.yml): the relation's row count and columns,
    logged as one line "edu_relation {json}". The orchestrator reads it from dbt's event stream
    while dbt still holds the build database, so each model's materialization carries its row
    count and column lineage as soon as the model is built (orchestration/defs/transform/assets.py).
    Only in commands that build; it renders no SQL. -#}
{% macro report_relation() %}
    {%- if execute and flags.WHICH in ('build', 'run', 'seed') -%}
        {%- set counted = run_query('select count(*) from ' ~ this) -%}
        {%- set columns = [] -%}
        {%- for column in adapter.get_columns_in_relation(this) -%}
            {%- do columns.append([column.name, column.dtype]) -%}
        {%- endfor -%}
        {%- set report = {'rows': counted.columns[0].values()[0] | int, 'columns': columns} -%}
        {%- do log('edu_relation ' ~ tojson(report), info=True) -%}
    {%- endif -%}
{% endmacro %}

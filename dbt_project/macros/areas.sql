{#- England's regions and how area names are compared: vars.areas in dbt_project.yml, which the
    raw gates read too (orchestration/lib/rules/areas.py); tests/test_areas.py checks both agree. -#}

{#- England's country code and name, as SQL literals. -#}
{% macro england_code() -%}
    '{{ var('areas')['england']['code'] }}'
{%- endmacro %}

{% macro england_name() -%}
    '{{ var('areas')['england']['name'] | replace("'", "''") }}'
{%- endmacro %}

{#- London's region code and name, as SQL literals. -#}
{% macro london_code() -%}
    '{{ var('areas')['london'] }}'
{%- endmacro %}

{% macro london_name() -%}
    '{{ var('areas')['regions'][var('areas')['london']] | replace("'", "''") }}'
{%- endmacro %}

{#- True when the region code is Inner or Outer London, the sub-regions EES gives London
    boroughs' rows as region_code. -#}
{% macro is_london_sub_region(code_expr) -%}
    {{ code_expr }} in ({% for code in var('areas')['london_sub_regions'] %}'{{ code }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Inner or Outer London's name from its code (NULL for any other code). -#}
{% macro london_sub_region_name(code_expr) -%}
    case {{ code_expr }}
        {%- for code, name in var('areas')['london_sub_regions'].items() %} when '{{ code }}' then '{{ name | replace("'", "''") }}'{% endfor %}
    end
{%- endmacro %}

{#- The region an area is compared with: London for Inner/Outer London, else the code itself. -#}
{% macro comparator_region(code_expr) -%}
    case when {{ is_london_sub_region(code_expr) }} then {{ london_code() }} else {{ code_expr }} end
{%- endmacro %}

{#- The region code a row stands for: some DfE files (KS4 characteristics 2018/19) code Inner and
    Outer London's rows, and London boroughs' rows, with London's code and the sub-region's name;
    the name says which area the row is. -#}
{% macro area_region_code(code_expr, name_expr) -%}
    case when {{ code_expr }} = {{ london_code() }} then case
        {%- for code, name in var('areas')['london_sub_regions'].items() %}
        when {{ la_name_key(name_expr) }} = {{ la_name_key("'" ~ (name | replace("'", "''")) ~ "'") }} then '{{ code }}'
        {%- endfor %}
        else {{ code_expr }} end
    else {{ code_expr }} end
{%- endmacro %}

{#- The area a row of an EES file is published as (vars.areas.published_levels): its area level
    ('area_level'), code ('code') or name ('name') from its geographic level; NULL at a level that
    is not published. -#}
{% macro published_area(level_expr, part) -%}
    case lower({{ level_expr }})
        {%- for level, area in var('areas')['published_levels'].items() %}
        when '{{ level | replace("'", "''") }}' then {{ "'" ~ area['area_level'] ~ "'" if part == 'area_level' else adapter.quote(area[part]) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- An LA or region name reduced to what identifies it, so two spellings of one LA compare
    equal: 'St. Helens' = 'St Helens', 'Brighton & Hove' = 'Brighton and Hove', Ofsted's
    'Bristol, City of' and 'County Durham' = 'Bristol' and 'Durham' (vars.areas.name_key). -#}
{% macro la_name_key(expr) -%}
    {%- set sql = namespace(text='lower(trim(' ~ expr ~ '))') -%}
    {%- for pattern, replacement in var('areas')['name_key'] -%}
        {%- set sql.text = "regexp_replace(" ~ sql.text ~ ", '" ~ (pattern | replace("'", "''")) ~ "', '" ~ (replacement | replace("'", "''")) ~ "', 'g')" -%}
    {%- endfor -%}
    {{ sql.text }}
{%- endmacro %}

{#- An LA's attribute as its latest row gives it (the latest period, then the later-landed file),
    so a renamed or recoded LA shows its current name and codes; NULLs never win. Aggregate: use
    with GROUP BY old_la_code over rows with time_period and landed_seq. -#}
{% macro latest_la_attribute(column) -%}
    arg_max({{ column }}, time_period * 1000 + landed_seq) filter (where {{ column }} is not null)
{%- endmacro %}

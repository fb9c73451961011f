{#- Rules the school models share, so the school view, its comparisons and the concern list
    read a value, a change and "worse" the same way. -#}

{#- The last landed register row per URN: when a school appears in two register files the
    later file wins. -#}
{% macro latest_register_rows(schools_relation) -%}
    select *
    from {{ schools_relation }}
    where urn is not null
    qualify row_number() over (partition by urn order by landed_seq desc, source_row_number desc) = 1
{%- endmacro %}

{#- The same school's same measure and term (a NULL term matches a NULL term): the join from a
    school value to its own earlier values. -#}
{% macro same_school_series(left, right) -%}
    {{ left }}.urn = {{ right }}.urn
        and {{ left }}.measure_code = {{ right }}.measure_code
        and {{ left }}.time_identifier is not distinct from {{ right }}.time_identifier
{%- endmacro %}

{#- A difference between two shown values, rounded to the measure's places; NULL unless both
    are there, so nothing is compared with a withheld value. -#}
{% macro school_difference(minuend, subtrahend, places_expr) -%}
    case when {{ minuend }} is not null and {{ subtrahend }} is not null then
            {{ rounded_difference(minuend, subtrahend, places_expr) }}
        end
{%- endmacro %}

{#- Whether a difference is for the worse given the measure's polarity: up is worse for a 'low'
    measure (absence), down for any other. -#}
{% macro is_worse(difference, polarity_expr) -%}
    case {{ polarity_expr }} when 'low' then {{ difference }} > 0 else {{ difference }} < 0 end
{%- endmacro %}

{#- One of two words by polarity, for sentences: the first for a 'low' measure. -#}
{% macro polarity_word(polarity_expr, if_low, otherwise) -%}
    case when {{ polarity_expr }} = 'low' then '{{ if_low }}' else '{{ otherwise }}' end
{%- endmacro %}

{#- The school and LA columns every school mart starts with; `relation` carries urn,
    school_name, old_la_code and phase, and is left joined to local_authorities on old_la_code. -#}
{% macro school_identity_columns(relation) -%}
    cast({{ relation }}.urn as varchar) as urn,
        cast({{ relation }}.school_name as varchar) as school_name,
        cast({{ relation }}.old_la_code as varchar) as old_la_code,
        cast(local_authorities.la_code as varchar) as la_code,
        cast(local_authorities.la_name as varchar) as la_name,
        cast({{ relation }}.phase as varchar) as phase
{%- endmacro %}

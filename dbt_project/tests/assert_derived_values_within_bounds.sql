-- A value worked out from a file's totals has no raw cell for the raw gate to bound, so it must
-- meet the bounds the raw gate gives its measure's own column (vars.ees_datasets gate ranges) and,
-- for a percentage, 0-100: t_att8 = 5000000 over 100 pupils never publishes an Attainment 8 of
-- 50000.
{%- set bounds = [] -%}
{%- for dataset, spec in var('ees_datasets').items() -%}
    {%- for column, range in (((spec or {}).get('gate') or {}).get('ranges') or {}).items() -%}
        {%- do bounds.append((dataset, column, range['min'], range['max'])) -%}
    {%- endfor -%}
{%- endfor %}

with

derived as (

    select * from {{ ref('int_measure_values') }}
    where value_derivation != 'published' and value is not null

),

bounds as (

    select * from (
        values
        {% for dataset, column, low, high in bounds -%}
            ('{{ dataset }}', '{{ column }}', {{ low }}, {{ high }}){{ ',' if not loop.last }}
        {% endfor -%}
    ) as ranges (dataset, indicator, min_value, max_value)

)

select
    derived.measure_code,
    derived.breakdown,
    derived.area_code,
    derived.time_period,
    derived.value,
    derived.value_derivation,
    derived.source_file
from derived
left join bounds
    on
        derived.dataset = bounds.dataset
        and derived.indicator = bounds.indicator
where
    (derived.unit = '%' and (derived.value < 0 or derived.value > 100))
    or derived.value < bounds.min_value
    or derived.value > bounds.max_value

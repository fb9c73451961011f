{#- The DfE model is published wide (sn_1..sn_10 with closeness sn_1p..sn_10p); '-' names no
    neighbour (the 2021 model lists Cumberland and Westmorland and Furness that way). Which rank
    columns exist is checked at run time so a model with fewer neighbours, or headers written
    without the underscore (sn1, sn1p), still stages. -#}
{%- set relation = source('dfe', 'statistical_neighbours') -%}
{%- set ranks = [] -%}
{%- if execute -%}
    {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- set names = [] -%}
    {%- if existing -%}
        {%- for column in adapter.get_columns_in_relation(existing) -%}{%- do names.append(column.name | lower) -%}{%- endfor -%}
    {%- endif -%}
    {%- for k in range(1, 21) -%}
        {%- for code_col in ['sn_' ~ k, 'sn' ~ k] if code_col in names -%}
            {%- set closeness_col = code_col ~ 'p' if (code_col ~ 'p') in names else (code_col ~ '_p' if (code_col ~ '_p') in names else none) -%}
            {%- do ranks.append({'rank': k, 'code': code_col, 'closeness': closeness_col}) -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif -%}

{%- if ranks %}
    with source as (

        select * from {{ relation }}

    ),

    neighbour_lists as (

        select
            nullif(trim(old_la_code), '') as old_la_code,
            nullif(trim(la_name), '') as la_name,
            nullif(trim(region_name), '') as region_name,
            _source_file as source_file,
            _file_sha256 as file_sha256,
            cast(_row_number as integer) as source_row_number,
            cast(_landed_seq as integer) as landed_seq,
            [
                {%- for r in ranks %}
                struct_pack(
                    neighbour_rank := {{ r.rank }},
                    neighbour_old_la_code := nullif(nullif(trim({{ adapter.quote(r.code) }}), ''), '-'),
                    closeness := {% if r.closeness %}nullif(nullif(trim({{ adapter.quote(r.closeness) }}), ''), '-'){% else %}cast(null as varchar){% endif %}
                ){{ ',' if not loop.last }}
            {%- endfor %}
            ] as neighbours  -- noqa: LT02
        from source

    ),

    unnested as (

        select
            old_la_code,
            la_name,
            region_name,
            unnest(neighbours, recursive := true),  -- noqa: AL03
            source_file,
            file_sha256,
            source_row_number,
            landed_seq
        from neighbour_lists

    ),

    final as (

        select
            old_la_code,
            la_name,
            region_name,
            cast(neighbour_rank as integer) as neighbour_rank,
            neighbour_old_la_code,
            closeness,
            source_file,
            file_sha256,
            source_row_number,
            landed_seq
        from unnested
        -- Blank rank cells (an LA with fewer neighbours, or trailing note rows) are not neighbours.
        where
            old_la_code is not null
            and neighbour_old_la_code is not null

    )

    select * from final
{%- else %}
-- No statistical neighbour file landed: an empty relation keeps downstream models buildable.
    select
        cast(null as varchar) as old_la_code,
        cast(null as varchar) as la_name,
        cast(null as varchar) as region_name,
        cast(null as integer) as neighbour_rank,
        cast(null as varchar) as neighbour_old_la_code,
        cast(null as varchar) as closeness,
        cast(null as varchar) as source_file,
        cast(null as varchar) as file_sha256,
        cast(null as integer) as source_row_number,
        cast(null as integer) as landed_seq
    where false
{%- endif %}

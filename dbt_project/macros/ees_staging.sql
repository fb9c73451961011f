{#-
    Staging for one EES dataset: the raw table (one VARCHAR column per file column, unioned across
    files) becomes one row per source row, with its standard columns cleaned, its filter columns
    gathered into a map and one column per canonical indicator. Which columns are filters and
    which are indicators is read at run time from raw.file_columns (the files' own .meta.csv, else
    the ingest heuristic), so a new file layout or an extra indicator needs no SQL change; renamed
    indicators are folded onto one canonical name with the aliases in the registry.
    Each dataset is an entry of the registry vars.ees_datasets; its model file only calls this.

    The rows stay wide: int_ees_measure_values turns into cells only the rows a catalogue row
    reads. DfE's characteristics files have millions of rows, most of them breakdowns nothing
    publishes, so unpivoting (and parsing) every cell here would cost far more than the data used.

    A dataset whose raw table does not exist (absent from sources.yml) yields an empty view with
    the same standard columns, so the rest of the project still builds.
-#}


{% macro ees_lineage_columns() -%}
    {{ return(['_file_sha256', '_source_file', '_row_number', '_release', '_landed_seq']) }}
{%- endmacro %}

{% macro ees_standard_columns() -%}
    {{ return(['time_period', 'time_identifier', 'geographic_level', 'country_code', 'country_name',
               'region_code', 'region_name', 'old_la_code', 'new_la_code', 'la_name']) }}
{%- endmacro %}


{#- The columns of every stg_ees__<dataset> row besides its indicator columns, in order (the final
    CTE of ees_staging below selects exactly these): int_ees_measure_values unpivots the others. -#}
{% macro ees_staging_row_columns() -%}
    {{ return(['dataset', 'time_period', 'academic_year', 'time_identifier', 'geographic_level',
               'country_code', 'country_name', 'region_code', 'region_name', 'old_la_code', 'new_la_code',
               'la_name', 'version', 'release', 'filters', 'filters_key', 'source_file', 'file_sha256',
               'source_row_number', 'landed_seq']) }}
{%- endmacro %}


{#- column name -> role for one dataset, from raw.file_columns; the latest-landed file wins when
    files disagree (its layout is the one DfE uses now). Falls back to the
    heuristic of docs/architecture.md ("Measure selection") on the data itself when the ingest did not record roles. -#}
{% macro ees_column_roles(dataset, relation, column_names) -%}
    {%- set roles = {} -%}
    {%- set file_columns = source('ingest', 'file_columns') -%}
    {%- set landed_files = source('ingest', 'landed_files') -%}
    {%- if execute -%}
        {%- set fc_exists = adapter.get_relation(database=file_columns.database, schema=file_columns.schema, identifier=file_columns.identifier) -%}
        {%- set lf_exists = adapter.get_relation(database=landed_files.database, schema=landed_files.schema, identifier=landed_files.identifier) -%}
        {%- if fc_exists -%}
            {%- set query -%}
                select fc.column_name, arg_max(fc.role, coalesce(lf.landed_seq, 0)) as role
                from {{ file_columns }} as fc
                {% if lf_exists -%}
                left join {{ landed_files }} as lf
                    on lf.dataset = fc.dataset and lf.file_sha256 = fc.file_sha256
                {%- else -%}
                left join (select null::integer as landed_seq) as lf on true
                {%- endif %}
                where fc.dataset = '{{ dataset }}'
                group by fc.column_name
            {%- endset -%}
            {%- for row in run_query(query).rows -%}
                {%- do roles.update({row[0] | lower: row[1] | lower}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set unknown = [] -%}
        {%- for name in column_names -%}
            {%- if name not in roles and name not in ees_lineage_columns() -%}{%- do unknown.append(name) -%}{%- endif -%}
        {%- endfor -%}
        {%- if unknown -%}
            {%- set query -%}
                select
                {%- for name in unknown %}
                    bool_and({{ adapter.quote(name) }} is null or trim({{ adapter.quote(name) }}) = ''
                        or {{ is_ees_number(adapter.quote(name)) }}
                        or lower(trim({{ adapter.quote(name) }})) in {{ ees_symbol_list() }}){{ ',' if not loop.last }}
                {%- endfor %}
                from {{ relation }}
            {%- endset -%}
            {%- set looks_numeric = run_query(query).rows[0] -%}
            {%- for name in unknown -%}
                {%- if name == 'version' -%}{%- do roles.update({name: 'version'}) -%}
                {%- elif name in ees_standard_columns() -%}{%- do roles.update({name: 'geography'}) -%}
                {%- elif looks_numeric[loop.index0] -%}{%- do roles.update({name: 'indicator'}) -%}
                {%- else -%}{%- do roles.update({name: 'filter'}) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(roles) }}
{%- endmacro %}


{#- The values of a filter column that mark the dataset's headline row: the entry's headline: in
    vars.ees_datasets when it names the filter (NEET's age: 16-17; KS4's school_characteristic:
    Total or State-funded schools (LA)), else [ees_cells.filter_total]. -#}
{% macro ees_headline_values(dataset, filter_name) -%}
    {%- set headline = (var('ees_datasets')[dataset] or {}).get('headline') or {} -%}
    {%- set values = headline.get(filter_name | lower, var('ees_cells')['filter_total']) -%}
    {{ return([values] if values is string else values) }}
{%- endmacro %}


{#- The headline value a file without the filter column is read as having: the first of them. -#}
{% macro ees_headline_value(dataset, filter_name) -%}
    {{ return(ees_headline_values(dataset, filter_name)[0]) }}
{%- endmacro %}


{#- The same as a SQL list, for rows of any dataset: `dataset_expr` and `filter_expr` are SQL. -#}
{% macro ees_headline_values_sql(dataset_expr, filter_expr) -%}
    {%- set overrides = [] -%}
    {%- for dataset, spec in var('ees_datasets').items() -%}
        {%- for filter_name in ((spec or {}).get('headline') or {}) -%}
            {%- do overrides.append((dataset, filter_name | lower, ees_headline_values(dataset, filter_name))) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set total = "['" ~ (var('ees_cells')['filter_total'] | replace("'", "''")) ~ "']" -%}
    {%- if overrides -%}
    case
        {%- for dataset, filter_name, values in overrides %}
        when {{ dataset_expr }} = '{{ dataset }}' and {{ filter_expr }} = '{{ filter_name }}' then [{% for v in values %}'{{ v | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor %}]
        {%- endfor %}
        else {{ total }}
    end
    {%- else -%}{{ total }}{%- endif -%}
{%- endmacro %}


{#- The registry's headline_partitions (vars.ees_datasets) as rows: dataset, partition_number
    (1 = the entry's first list, preferred), breakdown (a catalogue breakdown code), members (how
    many the partition has) and may_be_absent (the entry's partition_members_may_be_absent). -#}
{% macro ees_headline_partitions_sql() -%}
    {%- set rows = [] -%}
    {%- for dataset, spec in var('ees_datasets').items() -%}
        {%- set may_be_absent = (spec or {}).get('partition_members_may_be_absent') is sameas true -%}
        {%- for partition in ((spec or {}).get('headline_partitions') or []) -%}
            {%- set number = loop.index -%}
            {%- for breakdown in partition -%}
                {%- do rows.append((dataset, number, breakdown, partition | length, may_be_absent)) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows -%}
    select * from (values
        {%- for dataset, number, breakdown, members, may_be_absent in rows %}
        ('{{ dataset }}', {{ number }}, '{{ breakdown }}', {{ members }}, {{ 'true' if may_be_absent else 'false' }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as partitions (dataset, partition_number, breakdown, members, may_be_absent)
    {%- else -%}
    select
        cast(null as varchar) as dataset,
        cast(null as integer) as partition_number,
        cast(null as varchar) as breakdown,
        cast(null as integer) as members,
        cast(null as boolean) as may_be_absent
    where false
    {%- endif -%}
{%- endmacro %}


{#- Empty cells of the standard columns become NULL (national rows have no region, etc.). -#}
{% macro ees_column_or_null(name, column_names) -%}
    {%- if name in column_names -%}nullif(trim({{ adapter.quote(name) }}), ''){%- else -%}cast(null as varchar){%- endif -%}
{%- endmacro %}


{% macro ees_staging(dataset) -%}
    {%- set relation = source('ees', dataset) -%}
    {%- set aliases = (var('ees_datasets')[dataset] or {}).get('aliases') or {} -%}
    {%- set column_names = [] -%}
    {%- set filter_columns = [] -%}
    {#- canonical indicator name -> the existing columns that hold it, canonical name first -#}
    {%- set indicators = {} -%}

    {%- if execute -%}
        {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if existing -%}
            {%- for column in adapter.get_columns_in_relation(existing) -%}
                {%- do column_names.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set roles = ees_column_roles(dataset, relation, column_names) if column_names else {} -%}
        {%- set alias_to_canonical = {} -%}
        {%- for canonical, names in aliases.items() -%}
            {%- for name in names -%}{%- do alias_to_canonical.update({name | lower: canonical | lower}) -%}{%- endfor -%}
        {%- endfor -%}
        {%- for name in column_names
            if name not in ees_lineage_columns() and name not in ees_standard_columns() and name != 'version' -%}
            {%- if roles.get(name) == 'filter' -%}
                {%- do filter_columns.append(name) -%}
            {%- elif roles.get(name) == 'indicator' -%}
                {%- set canonical = alias_to_canonical.get(name, name) -%}
                {%- if canonical not in indicators -%}{%- do indicators.update({canonical: []}) -%}{%- endif -%}
                {%- if name == canonical -%}
                    {%- do indicators[canonical].insert(0, name) -%}
                {%- else -%}
                    {%- do indicators[canonical].append(name) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}


{%- set keep_largest = (var('ees_datasets')[dataset] or {}).get('repeated_rows_keep_largest') -%}
{%- if indicators %}
with source as (

    select * from {{ relation }}
    {%- if keep_largest and keep_largest in column_names %}
    -- The registry's repeated_rows_keep_largest (as the raw gate's gated_relation applies it): of
    -- rows sharing period, area, version and every filter in a file, the one with the largest
    -- {{ keep_largest }}; DfE labels sub-groups as the total in the level 2/3 at 19 file.
    {%- set repeated_key -%}
        _file_sha256
        {%- for c in ['time_period', 'time_identifier', 'geographic_level', 'country_code', 'region_code', 'old_la_code', 'new_la_code', 'version'] + filter_columns if c in column_names %}, {{ adapter.quote(c) }}{% endfor %}
    {%- endset %}
    {%- set repeated_count = "try_cast(replace(" ~ adapter.quote(keep_largest) ~ ", ',', '') as double)" %}
    -- where some counts are withheld and some not, all stay (the raw gate's uniqueness check
    -- blocks); where all are withheld, the first row (DfE lists the total first)
    qualify row_number() over (
        partition by {{ repeated_key }}
        order by {{ repeated_count }} desc nulls last, _row_number
    ) = 1
    or (
        bool_or({{ repeated_count }} is null) over (partition by {{ repeated_key }})
        and bool_or({{ repeated_count }} is not null) over (partition by {{ repeated_key }})
    )
    {%- endif %}

),

-- One column per canonical indicator: a file uses either the canonical name or one of its
-- aliases, so coalescing them lines up every year's files.
renamed as (

    select
        '{{ dataset }}' as dataset,
        _source_file as source_file,
        _file_sha256 as file_sha256,
        cast(_row_number as integer) as source_row_number,
        cast(_landed_seq as integer) as landed_seq,
        try_cast({{ ees_column_or_null('time_period', column_names) }} as integer) as time_period,
        {{ ees_column_or_null('time_identifier', column_names) }} as time_identifier,
        {{ ees_column_or_null('geographic_level', column_names) }} as geographic_level,
        {{ ees_column_or_null('country_code', column_names) }} as country_code,
        {{ ees_column_or_null('country_name', column_names) }} as country_name,
        {{ area_region_code(ees_column_or_null('region_code', column_names), ees_column_or_null('region_name', column_names)) }} as region_code,
        {{ ees_column_or_null('region_name', column_names) }} as region_name,
        {{ ees_column_or_null('old_la_code', column_names) }} as old_la_code,
        {{ ees_column_or_null('new_la_code', column_names) }} as new_la_code,
        {{ ees_column_or_null('la_name', column_names) }} as la_name,
        {{ ees_column_or_null('version', column_names) }} as version,
        -- The file's own version column beats the release declared in sources.yml; files
        -- with neither are treated as final.
        coalesce(
            {{ normalise_release(ees_column_or_null('version', column_names)) }},
            {{ normalise_release('_release') }},
            'final'
        ) as release,
        -- A filter column missing from a file means that file did not split by it: its rows are
        -- the headline value of that filter (Total, or the registry's headline: for it).
        {%- if filter_columns %}
        map(
            [{% for f in filter_columns %}'{{ f }}'{{ ', ' if not loop.last }}{% endfor %}]::varchar[],
            [{% for f in filter_columns %}coalesce({{ adapter.quote(f) }}, '{{ ees_headline_value(dataset, f) | replace("'", "''") }}'){{ ', ' if not loop.last }}{% endfor %}]::varchar[]
        ) as filters,
        {%- else %}
        cast(map() as map(varchar, varchar)) as filters,
        {%- endif %}
        {%- for canonical, names in indicators.items() %}
        {% if names | length > 1 %}coalesce({% for n in names %}{{ adapter.quote(n) }}{{ ', ' if not loop.last }}{% endfor %}){% else %}{{ adapter.quote(names[0]) }}{% endif %} as {{ adapter.quote(canonical) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source

),

keyed as (

    select
        *,
        {{ academic_year('time_period') }} as academic_year,
        -- the map as text, once per row: the key rows are matched to catalogue rows on
        cast(filters as varchar) as filters_key
    from renamed

),

-- The row columns in the order ees_staging_row_columns gives them (int_ees_measure_values unpivots
-- every other column), then the indicators.
final as (

    select
        {{ ees_staging_row_columns() | join(', ') }},
        {%- for canonical in indicators %}
        {{ adapter.quote(canonical) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from keyed

)

select * from final
{%- else %}
-- No raw table (or no indicator columns) for this dataset yet: an empty relation with the
-- standard staging columns keeps downstream models buildable.
select
    cast('{{ dataset }}' as varchar) as dataset,
    cast(null as integer) as time_period,
    cast(null as varchar) as academic_year,
    cast(null as varchar) as time_identifier,
    cast(null as varchar) as geographic_level,
    cast(null as varchar) as country_code,
    cast(null as varchar) as country_name,
    cast(null as varchar) as region_code,
    cast(null as varchar) as region_name,
    cast(null as varchar) as old_la_code,
    cast(null as varchar) as new_la_code,
    cast(null as varchar) as la_name,
    cast(null as varchar) as version,
    cast(null as varchar) as release,
    cast(map() as map(varchar, varchar)) as filters,
    cast(null as varchar) as filters_key,
    cast(null as varchar) as source_file,
    cast(null as varchar) as file_sha256,
    cast(null as integer) as source_row_number,
    cast(null as integer) as landed_seq
where false
{%- endif %}
{%- endmacro %}

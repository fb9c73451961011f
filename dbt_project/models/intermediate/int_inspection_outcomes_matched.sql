-- Ofsted outcomes per school and snapshot with the school's 3-digit LA. Ofsted's files name
-- the LA rather than number it, so the name is matched to the LA reference the project already
-- has (EES files and the statistical neighbour model) ignoring case and punctuation
-- ('St Helens' = 'St. Helens'). A number in the file wins, then the name, then the register.
with

inspections as (

    select * from {{ ref('stg_local__inspections') }}

),

schools as (

    select * from {{ ref('stg_local__schools') }}

),

neighbour_names as (

    select * from {{ ref('stg_dfe__statistical_neighbours') }}

),

measure_values as (

    select * from {{ ref('int_ees_measure_values') }}
    where area_level = 'local_authority'

),

register as (

    {{ latest_register_rows('schools') }}

),

la_names as (

    select distinct old_la_code, la_name from neighbour_names
    where la_name is not null
    union
    select distinct old_la_code, la_name from measure_values
    where la_name is not null and old_la_code is not null

),

-- A name key that two LAs share (none today) would be ambiguous, so it is not used.
la_name_keys as (

    select
        {{ la_name_key('la_name') }} as name_key,
        min(old_la_code) as old_la_code
    from la_names
    group by 1
    having count(distinct old_la_code) = 1

),

-- One row per school and snapshot: a school listed twice in a snapshot takes the later line.
latest_rows as (

    select *
    from inspections
    where
        urn is not null
        and as_at is not null
    qualify row_number() over (partition by urn, as_at order by landed_seq desc, source_row_number desc) = 1

),

final as (

    select
        latest_rows.urn,
        coalesce(latest_rows.school_name, register.school_name) as school_name,
        coalesce(latest_rows.old_la_code, la_name_keys.old_la_code, register.old_la_code) as old_la_code,
        case
            when latest_rows.old_la_code is not null then 'file la_code'
            when la_name_keys.old_la_code is not null then 'la_name matched'
            when register.old_la_code is not null then 'school register'
        end as la_code_basis,
        latest_rows.la_name as la_name_as_written,
        coalesce(latest_rows.phase, register.phase) as phase,
        latest_rows.pupils,
        latest_rows.inspection_date,
        latest_rows.overall_effectiveness,
        latest_rows.overall_effectiveness_grade,
        latest_rows.overall_effectiveness_label,
        latest_rows.judgement_basis,
        latest_rows.as_at,
        latest_rows.dataset,
        latest_rows.source_file,
        latest_rows.file_sha256,
        latest_rows.source_row_number,
        latest_rows.landed_seq
    from latest_rows
    left join la_name_keys
        on {{ la_name_key('latest_rows.la_name') }} = la_name_keys.name_key
    left join register
        on latest_rows.urn = register.urn

)

select * from final

-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Level 2 and 3 attainment by age 19.
-- One row per age19 source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('age19') }}

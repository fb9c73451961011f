-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- A level and other 16 to 18 results.
-- One row per ks5 source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('ks5') }}

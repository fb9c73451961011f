-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Key stage 2 attainment.
-- One row per ks2 source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('ks2') }}

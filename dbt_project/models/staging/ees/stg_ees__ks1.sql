-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Key stage 1 attainment.
-- One row per ks1 source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('ks1') }}

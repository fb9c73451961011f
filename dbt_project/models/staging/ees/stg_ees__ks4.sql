-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Key stage 4 performance.
-- One row per ks4 source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('ks4') }}

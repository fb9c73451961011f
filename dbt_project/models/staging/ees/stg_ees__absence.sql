-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Pupil absence in schools in England.
-- One row per absence source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('absence') }}

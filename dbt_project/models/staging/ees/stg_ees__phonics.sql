-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Phonics screening check attainment.
-- One row per phonics source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('phonics') }}

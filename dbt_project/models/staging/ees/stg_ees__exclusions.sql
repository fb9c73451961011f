-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Suspensions and permanent exclusions in England.
-- One row per exclusions source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('exclusions') }}

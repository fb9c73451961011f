-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Suspensions and permanent exclusions in England.
-- One row per exclusions source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('exclusions') }}

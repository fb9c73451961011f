-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Early years foundation stage profile results.
-- One row per eyfs source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('eyfs') }}

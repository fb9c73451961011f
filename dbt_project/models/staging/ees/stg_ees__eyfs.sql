-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Early years foundation stage profile results.
-- One row per eyfs source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('eyfs') }}

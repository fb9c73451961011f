-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Key stage 4 destination measures.
-- One row per ks4_destinations source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('ks4_destinations') }}

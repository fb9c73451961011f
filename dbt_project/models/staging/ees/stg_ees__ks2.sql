-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Key stage 2 attainment.
-- One row per ks2 source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('ks2') }}

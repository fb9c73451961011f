-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Key stage 1 attainment.
-- One row per ks1 source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('ks1') }}

-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Phonics screening check attainment.
-- One row per phonics source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('phonics') }}

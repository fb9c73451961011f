-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Pupil absence in schools in England.
-- One row per absence source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('absence') }}

-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Level 2 and 3 attainment by age 19.
-- One row per age19 source row x indicator column (macros/ees_unpivot.sql).
{{ ees_unpivot('age19') }}

-- generated from vars.ees_datasets by python -m orchestration.lib.rules.registry (make generate); do not edit
-- Participation in education, training and NEET age 16 to 17 by local authority.
-- One row per neet source row, one column per indicator (macros/ees_staging.sql).
{{ ees_staging('neet') }}

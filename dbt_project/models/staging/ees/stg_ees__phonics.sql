-- One row per phonics source row x indicator column. Year 1 phonics screening check.
{{ ees_unpivot('phonics') }}

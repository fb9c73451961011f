-- One row per KS2 source row x indicator column; all the work is shared in macros/ees_unpivot.sql.
{{ ees_unpivot('ks2') }}

-- One row per ks5 source row x indicator column. 16-18 (A level) results.
{{ ees_unpivot('ks5') }}

-- One row per ks1 source row x indicator column. KS1 teacher assessments (to 2022/23).
{{ ees_unpivot('ks1') }}

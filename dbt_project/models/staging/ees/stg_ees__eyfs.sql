-- One row per eyfs source row x indicator column. EYFS profile; the 2021/22 reform break is in the comparability seed, not here.
{{ ees_unpivot('eyfs') }}

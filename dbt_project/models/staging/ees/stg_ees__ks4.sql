-- One row per KS4 source row x indicator column; 2024/25 renames are folded by the aliases in vars.
{{ ees_unpivot('ks4') }}

-- One row per exclusions source row x indicator column. Suspensions and permanent exclusions; older files' fixed_excl_rate is folded onto susp_rate.
{{ ees_unpivot('exclusions') }}

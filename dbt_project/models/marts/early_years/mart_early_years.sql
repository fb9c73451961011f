-- Early years (EYFS profile) for committee papers and dashboards: one wide row per LA and period.
-- The 2021/22 reform starts a new series, so 2021/22 shows no change (comparability seed).
{{ phase_wide_mart(
    measures=['eyfs_gld'],
    gap_measures=['eyfs_gld']
) }}

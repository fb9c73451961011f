-- Key stage 2 for committee papers and dashboards: one wide row per LA and period.
{{ phase_wide_mart(
    measures=['ks2_rwm_expected', 'ks2_rwm_higher', 'ks2_reading_expected', 'ks2_writing_expected', 'ks2_maths_expected', 'ks2_gps_expected'],
    gap_measures=['ks2_rwm_expected']
) }}

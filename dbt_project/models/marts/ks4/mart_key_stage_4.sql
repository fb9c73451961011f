-- Key stage 4 for committee papers and dashboards: one wide row per LA and period.
{{ phase_wide_mart(
    measures=['ks4_attainment8', 'ks4_progress8', 'ks4_em_95', 'ks4_em_94', 'ks4_ebacc_entry', 'ks4_ebacc_aps'],
    gap_measures=['ks4_attainment8']
) }}

-- Post-16 for committee papers and dashboards: 16-18 results, attainment by 19 and NEET, one wide
-- row per LA and period. NEET figures are calendar-year periods (e.g. 2023) and so sit on
-- rows of their own beside the academic-year rows (e.g. 202223).
{{ phase_wide_mart(
    measures=['ks5_aps_per_entry', 'ks5_aab', 'ks5_three_a', 'age19_l2_em', 'age19_l3', 'neet_16_17', 'neet_or_not_known_16_17'],
    gap_measures=['ks5_aps_per_entry'],
    fsm_gap_measures=['age19_l2_em', 'age19_l3']
) }}

-- Year 1 phonics and key stage 1 for committee papers and dashboards: one wide row per LA and period.
-- KS1 statutory assessment ended after 2022/23, so later rows carry phonics only.
{{ phase_wide_mart(
    measures=['phonics_y1_expected', 'ks1_reading_expected', 'ks1_writing_expected', 'ks1_maths_expected'],
    gap_measures=['phonics_y1_expected', 'ks1_reading_expected', 'ks1_writing_expected', 'ks1_maths_expected']
) }}

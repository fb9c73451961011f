-- Attendance and behaviour for committee papers and dashboards: one wide row per LA and period
-- (all school types; the files' school_type = Total rows). Lower is better for every measure.
{{ phase_wide_mart(
    measures=['absence_overall', 'absence_persistent', 'exclusions_permanent_rate', 'exclusions_suspension_rate']
) }}

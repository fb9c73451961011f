-- One row per absence source row x indicator column. Pupil absence; the school_type filter's Total row is the headline.
{{ ees_unpivot('absence') }}

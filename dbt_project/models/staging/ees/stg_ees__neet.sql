-- One row per neet source row x indicator column. NEET at 16-17; calendar-year periods, age filter (16-17 is the headline age group).
{{ ees_unpivot('neet') }}

-- One row per age19 source row x indicator column. Level 2 / level 3 attainment by age 19; FSM breakdowns.
{{ ees_unpivot('age19') }}

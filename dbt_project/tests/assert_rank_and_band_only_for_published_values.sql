-- Ranks and bands describe published values only; a suppressed LA must not be placed.
select measure_code, breakdown, time_period, old_la_code, value_status, rank, quartile_band
from {{ ref('fct_la_measure') }}
where
    (value_status = 'published') <> (rank is not null)
    or (rank is null) <> (quartile_band is null)
    or rank > ranked_count

"""Committee briefings: plain-English findings, charts and tables per local authority, generated
from the published marts (``fct_la_measure`` and the comparability notes) after the gates pass.

- :mod:`.sentences` turns one ``fct_la_measure`` row into the sentences officers write;
- :mod:`.charts` draws the section charts headless (matplotlib Agg);
- :mod:`.render` reads the published database, renders the Jinja2 templates and swaps the
  ``briefings/`` folder in atomically.
"""

"""What sqlfluff's jinja templater renders the models with (dbt_project/.sqlfluff library_path).

dbt's own context needs a database; linting must not. The project's vars are read from
dbt_project.yml as dbt reads them, so macros that loop over the registry render real SQL, and
``execute`` is false as in dbt's parse phase, so macros skip their database look-ups.
"""

from pathlib import Path

import yaml

_VARS = yaml.safe_load((Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text())["vars"]

execute = False


def var(name, default=None):
    return _VARS.get(name, default)


def env_var(name, default=""):
    return default


class _Adapter:
    @staticmethod
    def quote(identifier):
        return '"' + str(identifier).replace('"', '""') + '"'

    @staticmethod
    def get_columns_in_relation(relation):
        return []


adapter = _Adapter()


def run_query(sql):
    raise RuntimeError("lint context: run_query is only reachable when execute is true")

"""The blocking gates: Great Expectations suites (expectations/*.json) over what DuckDB selects.

``suites``: validation, messages and the suite-to-SQL compiler; ``raw``: the DfE raw tables;
``local``: the council's local datasets. The names below are the package's interface.
"""

from orchestration.lib.gates.local import LOCAL_PROBLEM_COLUMNS, raw_local_frame
from orchestration.lib.gates.raw import (
    ROW_PROBLEM_COLUMNS,
    count_pairs,
    raw_cell_count,
    raw_ees_frame,
    raw_row_problems,
    raw_warnings,
)
from orchestration.lib.gates.suites import (
    GateResult,
    compile_suite,
    expectations_dir,
    load_suite_definition,
    prepare_great_expectations,
    quote_identifier,
    row_candidates,
    suite_exists,
    table_frame,
    validate,
)

__all__ = [
    "LOCAL_PROBLEM_COLUMNS",
    "ROW_PROBLEM_COLUMNS",
    "GateResult",
    "compile_suite",
    "count_pairs",
    "expectations_dir",
    "load_suite_definition",
    "prepare_great_expectations",
    "quote_identifier",
    "raw_cell_count",
    "raw_ees_frame",
    "raw_local_frame",
    "raw_row_problems",
    "raw_warnings",
    "row_candidates",
    "suite_exists",
    "table_frame",
    "validate",
]

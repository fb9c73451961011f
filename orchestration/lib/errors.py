"""Errors a data team can act on: each names the file, row or column at fault."""


class PipelineInputError(ValueError):
    """Bad input (a source definition or a raw file). The raw file itself is never modified."""


class DbtBuildError(RuntimeError):
    """dbt build stopped: names each model, seed or test that errored and dbt's own message."""

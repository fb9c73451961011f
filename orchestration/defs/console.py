"""The console of a run: the pipeline's progress, not Dagster's event stream. ``make run`` uses it
(run config ``loggers: {console: {config: {log_level: INFO}}}``, which a launchpad run can give
too); a run without logger config gets Dagster's default console.

At ``EDU_LOG_LEVEL=INFO`` (the default) it shows, one line each:

- what the pipeline's own steps log through ``context.log`` (or the ``log`` handed to
  ``ingest()``) at INFO and above: per-file landing and gate progress, dbt's layers
  (orchestration/defs/transform/dbt_log.py), briefings written;
- each raw dataset loaded, the publication and each output written (materializations);
- each gate evaluated (GX suites and output checks; of the dbt tests only those that fail);
- a failed step, with the first line of its error;
- warnings and errors of libraries (dagster-dbt, Dagster itself); their INFO chatter stays in
  the event log.

Every other Dagster event (step starts, outputs, handled-output, planned checks ...) is left to
the event log. ``EDU_LOG_LEVEL=DEBUG`` prints every record in Dagster's own format, and dbt's
per-node lines with them; WARNING or ERROR print only records at that level or above.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

import dagster as dg

from orchestration.lib.printable import printable
from orchestration.lib.run_summary import (
    CHECK_FAILED_ERROR,
    LINEAGE_TABLES,
    PUBLICATION_ASSET,
    SCHEMA_ONLY_TABLES,
    file_count,
)
from orchestration.lib.settings import load_settings

PACKAGE_DIR = str(Path(__file__).resolve().parents[1])  # orchestration/
STEP_LABELS = {
    "ingest_raw_files": "ingest",
    "raw_gates": "gate",
    "mart_gates": "gate",
    "dbt_models": "dbt",
    "warehouse__education": "publish",
    "outputs": "outputs",
}
# Dagster's error for each step downstream of a failure ("... Not executing."), one per step.
NOT_EXECUTING = "Dependencies for step "


def _from_library() -> bool:
    """Whether the record being handled is a library's: logged to a Python logger that Dagster
    captures (dagster-dbt's ``get_dagster_logger()``) from code outside orchestration/, rather
    than through a step's ``context.log``. Dagster's handler relays the original record; its
    logger name and source file tell."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "emit" and code.co_filename.endswith("/dagster/_core/log_manager.py"):
            original = frame.f_locals.get("record")
            if not isinstance(original, logging.LogRecord) or original.name == "dagster":
                return False  # context.log: the DagsterLogManager's own record
            return not original.pathname.startswith(PACKAGE_DIR)
        frame = frame.f_back
    return False


def _label(step_key: str | None) -> str:
    """A short name for the step a line comes from: ingest, dbt, gate, publish, briefings ..."""
    if not step_key:
        return "run"
    return STEP_LABELS.get(step_key) or step_key.replace("__", "/")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _materialization_line(event) -> str | None:
    key = event.asset_key.path
    metadata = event.event_specific_data.materialization.metadata
    name = "/".join(key)

    def value(k):
        entry = metadata.get(k)
        return getattr(entry, "value", entry)

    if key[0] == "raw" and key[-1] not in LINEAGE_TABLES:
        rows = value("row_count")
        files = 0 if key[-1] in SCHEMA_ONLY_TABLES else file_count(metadata)
        files_text = (
            "schema files only" if key[-1] in SCHEMA_ONLY_TABLES else f"{files} file{'' if files == 1 else 's'}"
        )
        return f"loaded {name}: {files_text}, {int(rows or 0):,} rows"
    if name == PUBLICATION_ASSET:
        return f"published {value('path')} (publication {value('publication_id')})"
    if key[0] == "outputs":
        return f"wrote {name}: {value('index') or value('path')}"
    return None


class ProgressFilter(logging.Filter):
    """Decides what reaches the console and rewrites it as one progress line."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def _progress(self, record: logging.LogRecord) -> tuple[str, str] | None:
        """(label, line) for the console, or None to leave the record to the event log."""
        meta = getattr(record, "dagster_meta", None)
        if meta is None:  # not from a Dagster run: as is, at the level asked for
            return ("run", record.getMessage()) if record.levelno >= self.level else None
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        label = _label(step)
        if event is None:  # a message logged by a step
            library = _from_library()
            if record.levelno < (max(self.level, logging.WARNING) if library else self.level):
                return None
            if record.levelno >= logging.ERROR and meta.get("orig_message", "").startswith(NOT_EXECUTING):
                return None  # a step downstream of a failure: the summary counts them
            text = meta.get("orig_message") or ""
            return label, _first_line(text) if library else text
        kind = event.event_type
        if kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if evaluation.passed and (self.level > logging.INFO or step == "dbt_models"):
                return None  # dbt's passing tests are counted by the dbt step's own lines
            state = "passed" if evaluation.passed else "FAILED"
            return "gate", (
                f"{state} {evaluation.asset_key.to_user_string()} / {evaluation.check_name}"
                + (f": {_first_line(evaluation.description)}" if evaluation.description else "")
            )
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            line = _materialization_line(event) if self.level <= logging.INFO else None
            return (label, line) if line else None
        if kind == dg.DagsterEventType.STEP_FAILURE:
            data = event.event_specific_data
            if data.error is not None and data.error.cls_name == CHECK_FAILED_ERROR:
                return None  # the failed gate was shown as it was evaluated
            user = getattr(data, "user_failure_data", None)
            text = (
                user.description
                if user is not None and user.description
                else ((data.error.cause or data.error).message if data.error else "")
            )
            return label, f"step {step} FAILED: {_first_line(text)}"
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level <= logging.DEBUG:
            record.edu_line = record.getMessage()
            record.edu_debug = True
            return True
        progress = self._progress(record)
        if progress is None:
            return False
        record.edu_label, record.edu_line = progress
        record.edu_debug = False
        return True


class ProgressFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created)
        if getattr(record, "edu_debug", False):
            # Dagster's own console format (the message already names job, run, step and event).
            stamp = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
            text = f"{stamp} - dagster - {record.levelname} - {record.edu_line}"
        else:
            level = "" if record.levelno < logging.WARNING else f"{record.levelname}: "
            text = f"{moment.strftime('%H:%M:%S')} {record.edu_label:<10} {level}{record.edu_line}"
        if record.exc_info and getattr(record, "edu_debug", False):
            text += "\n" + self.formatException(record.exc_info)
        return printable(text)  # a cell or a name from a file may carry a terminal escape


def console_handler(level: str | int, stream=None) -> logging.Handler:
    level = logging.getLevelName(level) if isinstance(level, str) else level
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.addFilter(ProgressFilter(level))
    handler.setFormatter(ProgressFormatter())
    return handler


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, description="default: EDU_LOG_LEVEL, else INFO")},
    description="The pipeline's progress on stdout (orchestration/defs/console.py); EDU_LOG_LEVEL=DEBUG: every event",
)
def progress_console(init_context) -> logging.Logger:
    level = (init_context.logger_config.get("log_level") or load_settings().log_level).upper()
    logger = logging.Logger("edu_console", level=logging.DEBUG)  # the handler's filter decides
    logger.addHandler(console_handler(level))
    return logger

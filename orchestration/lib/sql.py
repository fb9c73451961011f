"""Quoting for the few places SQL cannot take a parameter (identifiers, DuckDB's ATTACH path).
Values go through parameters everywhere else; names and paths come from files and settings, so
they are never pasted as they are."""


def quote_identifier(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A SQL string literal of ``text``."""
    return "'" + text.replace("'", "''") + "'"

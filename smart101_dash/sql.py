"""The two quoting helpers for SQL text that cannot take bound parameters (DDL, identifiers).

Every *value* in a query is bound as a parameter. Only two things are ever spliced into SQL text:
column names, which must come from the contract's allowlist, and the export's file paths in
`CREATE VIEW` statements, which DuckDB cannot prepare.
"""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Quote a column or table name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Quote a string as a DuckDB literal (for file paths in view definitions only)."""
    return "'" + text.replace("'", "''") + "'"

"""Importing files: recognise the format, map columns, validate every row, load in bulk in one
transaction, and report what was loaded, rejected and excluded (see docs/imports.md)."""

"""The import report: what was read, loaded, rejected and excluded, and why.

The same report is printed by the CLI, shown by the Data page and kept with the import job.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

CHECKED, SUCCEEDED, REJECTED, FAILED, RUNNING = (
    "checked", "succeeded", "rejected", "failed", "running")
UNDONE = "undone"  # loaded, then its rows removed (services.imports.undo)
STATUS_LABELS = {CHECKED: "checked (nothing loaded)", SUCCEEDED: "loaded", REJECTED: "rejected",
                 FAILED: "failed", RUNNING: "running", UNDONE: "undone (its rows removed)"}
UNEXPECTED = ("The import failed on an unexpected error (it has been logged); nothing was "
              "changed.")
TOTAL_LABELS = {
    "orders": "orders (distinct order numbers)",
    "orders_replaced": "orders already in the database, replaced by the file's version",
    "quantity": "Σ quantity (all lines)",
    "value_all_lines": "Σ quantity × unit price (all lines)",
    "net_revenue": "net revenue (merchandise lines, as every page shows it)",
    "excluded_value": "Σ quantity × unit price of lines excluded from merchandise metrics",
    "return_lines": "lines with a negative quantity (returns, cancellations, stock adjustments)",
    "cancellation_lines": "lines on cancellation invoices (numbers starting with C): cancelled",
    "non_merchandise_on_cancellations": "non-merchandise lines with a positive quantity on "
                                        "cancellation invoices (loaded, not merchandise)",
    "stock_adjustment_lines": "stock adjustments (negative, price 0, no customer, not on a C "
                              "invoice): kept, not returns",
    "stock_adjustment_units": "units written off by stock adjustments (not returned units)",
    "orders_with_sales": "orders with sales (a merchandise line sold at a price above 0)",
    "free_lines": "merchandise lines with a positive quantity at a price of 0 (not sold)",
    "free_units": "units on those lines (not counted as units sold)",
    "guest_lines": "lines without a customer (guest orders)",
    "zero_price_lines": "lines with a unit price of 0",
    "duplicate_lines": "lines identical to another line of the file (kept: they are real)",
    "no_description_lines": "lines without a product description",
    "products": "products in the file", "products_new": "new products",
    "customers": "customers in the file", "customers_new": "new customers",
    "platforms_new": "new platforms",
    "inserted": "rows added", "updated": "rows that replaced an existing row",
}


@dataclass
class ImportReport:
    """Outcome of checking or importing one file."""

    kind: str
    filename: str
    status: str = CHECKED
    source: str = ""  # what the file was recognised as, in words
    source_format: str = ""  # uci, generic or saved
    read_as: str = ""  # 'CSV, UTF-8, comma-separated'
    checksum: str = ""
    size_bytes: int = 0
    platform: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_excluded: int = 0
    first_date: str | None = None
    last_date: str | None = None
    totals: dict[str, float | int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)  # lines per non-merchandise code
    errors: list[str] = field(default_factory=list)  # why the file was refused
    problems: list[dict[str, Any]] = field(default_factory=list)  # per column and problem
    issues: list[dict[str, Any]] = field(default_factory=list)  # first row-level problems
    notes: list[str] = field(default_factory=list)
    job_id: int | None = None
    seconds: float = 0.0
    # The platforms of the file's rows (None: not all known); decides who sees the job.
    platform_ids: list[int] | None = None
    # The business currency the pages will show the file's amounts in (nothing is converted).
    currency: str = ""

    @property
    def ok(self) -> bool:
        """True when the file was (or would be) loaded."""
        return self.status in (CHECKED, SUCCEEDED) and not self.errors

    def headline(self) -> str:
        """One sentence: what happened."""
        if self.status == SUCCEEDED:
            return (f"Loaded {self.rows_loaded:,} of {self.rows_read:,} rows from "
                    f"{self.filename}.")
        if self.status == CHECKED and self.ok:
            return (f"{self.filename} is ready: {self.rows_loaded:,} of {self.rows_read:,} rows "
                    "would be loaded. Nothing has been changed yet.")
        if self.status == FAILED:
            return f"The import of {self.filename} failed; nothing was changed."
        return f"{self.filename} was not loaded; nothing was changed."

    def to_json(self) -> str:
        """The report as JSON (kept with the import job)."""
        return json.dumps(asdict(self), default=str)

    def to_text(self) -> str:
        """The report as plain text (the CLI prints this)."""
        lines = [self.headline(), ""]
        lines += [f"  file          {self.filename} ({self.size_bytes:,} bytes, sha256 "
                  f"{self.checksum[:12]}…)" if self.checksum else f"  file          "
                  f"{self.filename}"]
        if self.source:
            lines.append(f"  recognised as {self.source}")
        if self.read_as:
            lines.append(f"  read as       {self.read_as}")
        if self.mapping:  # field -> column; which column fed which field, as used
            lines.append("  columns       " + ", ".join(
                f"{field} ← “{column}”" for field, column in self.mapping.items()))
        if self.platform:
            lines.append(f"  platform      {self.platform}")
        lines += [f"  rows read     {self.rows_read:,}",
                  f"  rows loaded   {self.rows_loaded:,}" + (" (would be)" if
                                                             self.status == CHECKED else ""),
                  f"  rows rejected {self.rows_rejected:,}"]
        if self.kind == "sales":
            lines.append(f"  excluded from merchandise metrics {self.rows_excluded:,} lines"
                         + (" (" + ", ".join(f"{code} {n:,}" for code, n in
                                              self.excluded.items()) + ")"
                            if self.excluded else ""))
        if self.first_date:
            lines.append(f"  dates         {self.first_date} to {self.last_date}")
        if self.currency:
            lines.append(f"  amounts in    {self.currency} (the business currency; not "
                         "converted)")
        for key, value in self.totals.items():
            shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
            lines.append(f"  {TOTAL_LABELS.get(key, key)}: {shown}")
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  error: {error}" for error in self.errors]
        for problem in self.problems:
            rows = problem["rows"]
            lines.append(f"  problem: column “{problem['column']}” {problem['problem']} "
                         f"({rows:,} row{'' if rows == 1 else 's'})")
        for issue in self.issues[:20]:
            lines.append(f"    row {issue['row']}, {issue['column']}: “{issue['value']}” "
                         f"{issue['message']}")
        if len(self.issues) > 20:
            lines.append(f"    … and {len(self.issues) - 20:,} more listed on the Data page")
        return "\n".join(lines)

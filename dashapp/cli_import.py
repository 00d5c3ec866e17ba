"""`pulseboard import FILE`: the import wizard on the command line, with the same report.

Exit status 0 when the file was loaded (or, with --dry-run, would be), 1 when it was rejected
or failed; nothing is changed in either case.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from services.errors import ServiceError
from services.imports.options import DEFAULT_PLATFORM, DELIMITER_NAMES, ENCODINGS

# The import machinery (pandas and the app) loads when a file is imported, not when the
# command line starts: `pulseboard --help` must answer at once.
if TYPE_CHECKING:
    from services.imports.mapping import ColumnMapping
    from services.imports.report import ImportReport

DELIMITERS = {name: char for char, name in DELIMITER_NAMES.items()}


class KindChoice(click.Choice):
    """The kinds of file, read from `services.imports.kinds` (which loads the models) when
    the option is parsed or its help is shown, not when the command line starts."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        """The names of the kinds."""
        from services.imports.kinds import KINDS

        return tuple(KINDS)

    @choices.setter
    def choices(self, _value: object) -> None:
        """click.Choice's constructor sets the choices: they are read from the kinds."""


def _mapping(mapping_file: str | None, saved: str | None,
             date_order: str | None) -> ColumnMapping | None:
    from dashapp.extensions import db_session
    from services.imports.mapping import ColumnMapping, load_mapping_file, saved_mapping
    from services.scope import Scope

    mapping = None
    if mapping_file:
        mapping = load_mapping_file(Path(mapping_file).read_text(encoding="utf-8"))
    elif saved:
        mapping = saved_mapping(db_session(), Scope.everything(), saved)
    if mapping is not None and date_order:
        mapping = ColumnMapping(mapping.kind, mapping.columns, mapping.source_format,
                                date_order, mapping.name)
    return mapping


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=KindChoice(), default=None,
              help="What the file holds (default: recognised from its header).")
@click.option("--platform", default=DEFAULT_PLATFORM, show_default=True,
              help="Platform of sales or post rows when the file has no platform column "
                   "(e.g. the UCI file, a Facebook or Instagram export).")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="A mapping file (JSON, as downloaded from the Data page).")
@click.option("--saved-mapping", default=None, help="The name of a mapping saved on the Data "
              "page.")
@click.option("--date-order", type=click.Choice(["auto", "ymd", "dmy", "mdy"]), default=None,
              help="Order of day, month and year in the dates (default: recognised).")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="auto", show_default=True)
@click.option("--delimiter", type=click.Choice(list(DELIMITERS)), default=None,
              help="Column separator (default: recognised).")
@click.option("--skip-invalid", is_flag=True,
              help="Load the valid rows and report the others (default: reject the file "
                   "if any row has a problem).")
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; change "
              "nothing.")
@with_appcontext
def import_command(file: str, kind: str | None, platform: str, mapping_file: str | None,
                   saved_mapping: str | None, date_order: str | None, encoding: str,
                   delimiter: str | None, skip_invalid: bool, dry_run: bool) -> None:
    """Import a CSV or XLSX file (sales, products, customers, posts, influencers, tracking,
    payouts, funnel, pipeline or sales_team) and print what was loaded, rejected and
    excluded."""
    from dashapp.context import data_changed, setting
    from dashapp.extensions import db_session
    from services.imports.pipeline import ImportRequest, check_file, import_file
    from services.imports.reader import import_limits
    from services.scope import Scope

    try:
        mapping = _mapping(mapping_file, saved_mapping, date_order)
    except (OSError, ServiceError) as error:
        raise click.ClickException(str(error)) from error
    if mapping is None and date_order:
        click.echo("--date-order applies with --mapping or --saved-mapping only.", err=True)
    request = ImportRequest(
        data=Path(file).read_bytes(), filename=Path(file).name, mapping=mapping, kind=kind,
        platform=platform, encoding=encoding,
        delimiter=DELIMITERS[delimiter] if delimiter else None, skip_invalid=skip_invalid,
        timezone=setting("TIMEZONE"), limits=import_limits(current_app.config))
    progress = _progress_printer()
    if dry_run:
        report = check_file(db_session(), Scope.everything(), request, progress)
    else:
        report = import_file(db_session(), Scope.everything(), request, progress=progress)
        if report.status == "succeeded":
            warn_unless_cache_cleared(data_changed())
    report.currency = setting("CURRENCY")
    _finish(report)


def warn_unless_cache_cleared(cleared: bool) -> None:
    """Tell the user when the results cache could not forget what it held before a change."""
    from dashapp.context import STALE_CACHE_WARNING

    if not cleared:
        click.echo(f"Warning: {STALE_CACHE_WARNING}.", err=True)


def _progress_printer() -> Callable[[str, float], None]:
    shown: set[str] = set()

    def show(step: str, _fraction: float) -> None:
        if step not in shown:
            shown.add(step)
            click.echo(f"… {step}", err=True)
    return show


def _finish(report: ImportReport) -> None:
    click.echo(report.to_text())
    if not report.ok:
        raise SystemExit(1)

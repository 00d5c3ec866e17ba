"""Which file column feeds which field: recognising a file by its header, proposing a mapping
from synonyms, and saved mappings that a later file can reuse."""
from __future__ import annotations

import json
from collections.abc import Mapping as MappingType
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ImportMapping, User
from services.errors import AccessDenied, InvalidInput, NotFound
from services.imports.convert import DATE_ORDERS
from services.imports.kinds import (
    DATE,
    DATETIME,
    INTEGER,
    KINDS,
    NUMBER,
    UCI_NAMINGS,
    Field,
    Kind,
    normalise_header,
)
from services.scope import Scope

GENERIC, UCI, SAVED = "generic", "uci", "saved"
FORMAT_LABELS = {UCI: "UCI Online Retail", GENERIC: "columns matched by name",
                 SAVED: "saved mapping"}
GIVEN_LABEL = "the column mapping given"  # a mapping file, or the Data page's editor
TIME_TYPES = (DATE, DATETIME)
# An id column ("Post ID", "Page ID", "Account key", "Line number") identifies something: it
# is never a date or a count, whatever else its name contains; an id field takes no other
# column by containment.
_ID_WORDS = frozenset({"id", "ids", "key", "uuid", "guid", "number", "no", "code"})
_MEASURE_TYPES = (DATE, DATETIME, INTEGER, NUMBER)
# A column named for a part of a date ("Post Month", "Post Weekday", "Post Hour") holds a
# number of that part: it says neither which day a row is for, nor what the row is.
_DATE_PARTS = frozenset({"year", "quarter", "month", "week", "weekday", "day", "hour",
                         "minute"})


@dataclass(frozen=True)
class ColumnMapping:
    """A kind, the file column of each field, and how to read the file's values."""

    kind: str
    columns: dict[str, str]  # field name -> file column
    source_format: str = GENERIC
    date_order: str = "auto"
    name: str | None = None  # of the saved mapping it came from

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (what a mapping file holds)."""
        return {"kind": self.kind, "columns": dict(self.columns),
                "source_format": self.source_format, "date_order": self.date_order}

    @classmethod
    def from_dict(cls, data: MappingType[str, Any], name: str | None = None) -> ColumnMapping:
        """Inverse of `as_dict`; raises InvalidInput on anything malformed."""
        kind = data.get("kind")
        columns = data.get("columns")
        if kind not in KINDS:
            raise InvalidInput(f"The mapping's kind “{kind}” is not one of {', '.join(KINDS)}.")
        if not isinstance(columns, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
            raise InvalidInput("The mapping needs “columns”: an object of field → file column.")
        fields = {f.name for f in KINDS[kind].fields}
        unknown = sorted(set(columns) - fields)
        if unknown:
            raise InvalidInput(f"The mapping names fields that {kind} files do not have: "
                               f"{', '.join(unknown)}.")
        order = data.get("date_order", "auto")
        if order not in DATE_ORDERS:
            raise InvalidInput(f"date_order must be one of {', '.join(DATE_ORDERS)}.")
        source_format = data.get("source_format", GENERIC)
        if source_format not in FORMAT_LABELS:
            source_format = GENERIC
        return cls(kind, {k: v for k, v in columns.items() if v}, source_format, order, name)

    def check(self, file_columns: Sequence[str]) -> None:
        """Refuse a mapping that misses a required field or names a column the file lacks."""
        kind = KINDS[self.kind]
        missing_columns = [c for c in self.columns.values() if c not in file_columns]
        if missing_columns:
            raise InvalidInput(f"The file has no column “{missing_columns[0]}” (the mapping "
                               f"expects it). Its columns are: {', '.join(file_columns)}.")
        _refuse_date_parts_only(kind, self.columns, file_columns)
        for name in kind.required:
            if name not in self.columns:
                raise InvalidInput(_missing_message(kind, (name,)))
        for group in kind.one_of:
            if not any(name in self.columns for name in group):
                raise InvalidInput(_missing_message(kind, group))
        used = list(self.columns.values())
        twice = {c for c in used if used.count(c) > 1}
        if twice:
            raise InvalidInput(f"The column “{sorted(twice)[0]}” is mapped to two fields.")


def date_part_columns(file_columns: Sequence[str]) -> list[str]:
    """The columns named for a part of a date: 'Post Month', 'Weekday', 'Hour'."""
    return [c for c in file_columns if _last_word(normalise_header(c)) in _DATE_PARTS]


def _refuse_date_parts_only(kind: Kind, columns: MappingType[str, str],
                            file_columns: Sequence[str]) -> None:
    """A file whose rows have a month, weekday or hour but no date cannot be placed in time."""
    missing = [kind.field(name) for name in kind.required if name not in columns
               and kind.field(name).type in TIME_TYPES]
    parts = date_part_columns(file_columns)
    if missing and parts:
        raise InvalidInput(
            f"A {kind.label.lower()} file needs the date of each row (“{missing[0].label}”), "
            f"but this file has only parts of dates ({', '.join(parts)}): a month, weekday "
            "or hour does not say on which day a row happened, so the file cannot be "
            "imported. Export it with a date (or date and time) column.")


def _missing_message(kind: Kind, names: Sequence[str]) -> str:
    fields = [kind.field(name) for name in names]
    labels = " or ".join(f"“{f.label}”" for f in fields)
    examples = ", ".join(dict.fromkeys(s for f in fields for s in f.synonyms[:3]))
    return (f"A {kind.label.lower()} file needs a column for {labels} (for example {examples}); "
            "none was found. Map one of the file's columns to it.")


@dataclass(frozen=True)
class Detection:
    """What a header looks like: the best kind, its proposed mapping, and the other kinds."""

    mapping: ColumnMapping
    matched: int  # fields matched
    unmatched_columns: tuple[str, ...]
    scores: dict[str, int] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """'UCI Online Retail sales file' / 'Sales (order lines), 9 of 12 columns matched'."""
        label = KINDS[self.mapping.kind].label
        if self.mapping.source_format == UCI:
            return f"UCI Online Retail ({label.lower()})"
        if self.mapping.source_format == SAVED:
            return f"{label} (saved mapping “{self.mapping.name}”)"
        return f"{label}, {self.matched} columns recognised"


def uci_mapping(columns: Sequence[str]) -> ColumnMapping | None:
    """The UCI Online Retail mapping when the header is one of its two namings."""
    normalised = {normalise_header(c): c for c in columns}
    for naming in UCI_NAMINGS:
        wanted = {normalise_header(c) for c in naming.values()}
        if wanted == set(normalised):
            return ColumnMapping("sales", {f: normalised[normalise_header(c)]
                                           for f, c in naming.items()}, UCI, "auto")
    return None


def propose(kind_name: str, columns: Sequence[str]) -> ColumnMapping:
    """For each field of a kind, the file column whose name is the field's name, label or a
    synonym (exact match first, for every field, then a column that contains the synonym as
    words); an id column never feeds a date or a count, and a column named for a date part,
    or for another thing (`Field.not_within`), is never taken by containment."""
    kind = KINDS[kind_name]
    normalised = {c: normalise_header(c) for c in columns}
    chosen: dict[str, str] = {}
    for exact in (True, False):
        for field_ in kind.fields:
            if field_.name in chosen:
                continue
            names = (normalise_header(field_.label), normalise_header(field_.name),
                     *field_.synonyms)
            for candidate in names:
                column = _match(candidate, normalised, set(chosen.values()), exact, field_)
                if column is not None:
                    chosen[field_.name] = column
                    break
    return ColumnMapping(kind_name, chosen)


def _match(candidate: str, normalised: dict[str, str], taken: set[str], exact: bool,
           field_: Field) -> str | None:
    for column, name in normalised.items():
        if column in taken or not _may_feed(field_, name):
            continue
        if name == candidate or (not exact and len(candidate) > 3
                                 and f" {candidate} " in f" {name} "
                                 and _may_contain(field_, name)):
            return column
    return None


def _may_feed(field_: Field, name: str) -> bool:
    """False for an id column offered to a date or a count."""
    return not (field_.type in _MEASURE_TYPES and _last_word(name) in _ID_WORDS)


def _may_contain(field_: Field, name: str) -> bool:
    """Whether a longer column name may stand for the field it contains a synonym of."""
    words = name.split()
    if any(word in words for word in field_.not_within):
        return False
    if field_.name.endswith("_id") and not _ID_WORDS & set(words):
        return False  # "Lifetime Post Total Reach" is no post id
    return field_.type in TIME_TYPES or _last_word(name) not in _DATE_PARTS


def _last_word(name: str) -> str:
    return name.rpartition(" ")[2]


def detect(columns: Sequence[str], saved: Sequence[ColumnMapping] = (),
           kind_name: str | None = None) -> Detection:
    """The kind and mapping a header most likely means (UCI, a saved mapping, or by names)."""
    if kind_name in (None, "sales"):
        uci = uci_mapping(columns)
        if uci is not None:
            return Detection(uci, len(uci.columns), ())
    for mapping in saved:
        if kind_name in (None, mapping.kind) and \
                set(mapping.columns.values()) <= set(columns) and _complete(mapping):
            return _detection(replace(mapping, source_format=SAVED), columns, {})
    candidates = [kind_name] if kind_name else list(KINDS)
    proposals = {name: propose(name, columns) for name in candidates}
    scores = {name: _score(mapping) for name, mapping in proposals.items()}
    best = max(candidates, key=lambda name: scores[name])
    return _detection(proposals[best], columns, scores)


def _detection(mapping: ColumnMapping, columns: Sequence[str],
               scores: dict[str, int]) -> Detection:
    used = set(mapping.columns.values())
    return Detection(mapping, len(mapping.columns), tuple(c for c in columns if c not in used),
                     scores)


def _complete(mapping: ColumnMapping) -> bool:
    kind = KINDS[mapping.kind]
    return all(name in mapping.columns for name in kind.required) and all(
        any(name in mapping.columns for name in group) for group in kind.one_of)


def _score(mapping: ColumnMapping) -> int:
    """Matched fields, with a complete set of required fields worth much more."""
    return len(mapping.columns) + (100 if _complete(mapping) else 0)


def load_mapping_file(text: str) -> ColumnMapping:
    """A mapping from the JSON of a mapping file (as downloaded from the Data page)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"The mapping file is not valid JSON: {error.msg} "
                           f"(line {error.lineno}).") from error
    if not isinstance(data, dict):
        raise InvalidInput("The mapping file must hold a JSON object.")
    return ColumnMapping.from_dict(data)


def saved_mappings(session: Session, scope: Scope | None = None) -> list[ColumnMapping]:
    """Every saved mapping, by name (mappings name columns, not data: everyone sees them)."""
    rows = session.scalars(select(ImportMapping).order_by(ImportMapping.name))
    return [ColumnMapping.from_dict(json.loads(row.definition), row.name) for row in rows]


def saved_mapping(session: Session, scope: Scope | None, name: str) -> ColumnMapping:
    """The saved mapping called `name`."""
    row = session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if row is None:
        raise NotFound(f"There is no saved mapping called “{name}”.")
    return ColumnMapping.from_dict(json.loads(row.definition), row.name)


def save_mapping(session: Session, name: str, mapping: ColumnMapping,
                 user_id: int | None) -> ImportMapping:
    """Save (or overwrite) a mapping under `name`; flushed, the caller commits. Mappings are
    shared: a user limited to some platforms may not save one."""
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.platforms:
            raise AccessDenied("Saved mappings are shared by every user: only a user without "
                               "a platform limit may save one.")
    name = name.strip()
    if not 0 < len(name) <= 80:
        raise InvalidInput("Give the mapping a name of 1 to 80 characters.")
    data = replace(mapping, source_format=GENERIC).as_dict()
    row = session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if row is None:
        row = ImportMapping(name=name, kind=mapping.kind, definition="")
        session.add(row)
    row.kind, row.definition, row.user_id = mapping.kind, json.dumps(data), user_id
    session.flush()
    return row

"""The choices an import takes (file encodings, delimiters, the platform of rows that name
none) as plain constants: the command line builds its options from them without loading
pandas, so that `pulseboard --help` answers at once."""
from __future__ import annotations

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ENCODINGS = ("auto", "utf-8", "utf-16", "cp1252", "latin-1")
DEFAULT_PLATFORM = "Online Store"

"""`pulseboard --help` answers without loading the app's heavy libraries (issue 12, item 8):
they load when a command that needs them runs."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "numpy", "sklearn", "statsmodels", "plotly", "dash")

# The console script's entry point, run as `pulseboard --help` runs it, then the names of the
# heavy modules that got imported.
SCRIPT = """
import json, sys
sys.argv = ["pulseboard", *ARGS]
from dashapp.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps([name for name in HEAVY if name in sys.modules]))
"""


def run(*args: str) -> tuple[str, list[str]]:
    """The output of `pulseboard *args` and the heavy modules it imported."""
    script = f"ARGS = {list(args)!r}\nHEAVY = {HEAVY!r}\n{SCRIPT}"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=True)
    output, _, loaded = result.stdout.rstrip().rpartition("\n")
    return output, json.loads(loaded)


def test_help_lists_every_command_without_importing_heavy_modules() -> None:
    output, loaded = run("--help")
    assert loaded == []
    for command in ("db", "demo-data", "import", "users", "tokens", "cache", "rollups", "run"):
        assert f"\n  {command} " in output, output


def test_the_migrations_group_loads_when_used() -> None:
    output, _loaded = run("db", "--help")
    assert "upgrade" in output and "downgrade" in output

"""The service layer and the models stand below the web: importing any of them, directly or
through what they import, never loads Flask, Dash or our web packages."""
from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# werkzeug is allowed: services.users hashes passwords with werkzeug.security, a plain library.
FORBIDDEN = ("dashapp", "layouts", "callbacks", "flask", "dash", "flask_login",
             "flask_sqlalchemy", "flask_wtf")
LOWER_PACKAGES = ("services", "models")

# Runs in a clean interpreter: imports one module at a time and names the first module that
# brought in a forbidden package, with the package.
PROBE = """
import importlib, json, sys
forbidden = tuple(sys.argv[1].split(","))
found = {}
for name in sys.argv[2:]:
    importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
    if loaded:
        found[name] = loaded[:5]
        break
print(json.dumps(found))
"""


def lower_modules() -> list[str]:
    """Every module of the service and model packages."""
    names = []
    for package in LOWER_PACKAGES:
        names.append(package)
        path = [str(ROOT / package)]
        names += [info.name for info in pkgutil.walk_packages(path, prefix=f"{package}.")]
    return sorted(names)


def test_the_layer_walk_finds_the_modules() -> None:
    modules = lower_modules()
    assert {"services.filters", "services.rollups", "services.imports.pipeline",
            "models.sales"} <= set(modules)


def test_services_and_models_never_import_the_web() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(FORBIDDEN),
                             *lower_modules()], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    offenders = json.loads(result.stdout)
    assert offenders == {}, f"these imports pull in the web layer: {offenders}"


def test_the_probe_catches_a_web_import() -> None:
    # The same probe on a module of the web layer must report it: the check can fail.
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(FORBIDDEN),
                             "services.filters", "dashapp.filters"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert "dashapp.filters" in json.loads(result.stdout)

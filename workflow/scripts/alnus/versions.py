"""The software versions behind a run, for the report
(results/report/software_versions.csv): pinned, installed, and recorded in
each model card when its architecture was trained. Light: standard library
and pandas."""

from __future__ import annotations

import json
import platform
import re
from importlib import metadata
from pathlib import Path

import pandas as pd

import alnus

NOT_INSTALLED = "not installed"
# The interpreter's pin in a conda environment file: "  - python=3.11".
PYTHON_PIN = re.compile(r"^\s*-\s*python\s*=+\s*([^\s#]+)", re.MULTILINE)


def read_pins(requirements: str) -> dict[str, str]:
    """name -> version of each "name==version" line of requirements.txt
    (comments and blank lines skipped; a name without a version maps to "")."""
    pinned = {}
    for line in Path(requirements).read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name:
            pinned[name] = version
    return pinned


def python_pin(environment: str | None) -> str:
    """The Python version that a conda environment file pins ("3.11" of
    "python=3.11"); "" without a file or a pin."""
    if environment is None:
        return ""
    found = PYTHON_PIN.search(Path(environment).read_text())
    return found.group(1) if found else ""


def installed_version(package: str) -> str:
    """The version of a distribution installed here, or NOT_INSTALLED."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def software_versions(
    requirements: str, cards: dict[str, str] | None = None, *, environment: str | None = None
) -> pd.DataFrame:
    """The pinned, the installed and the training versions of each package.

    Parameters
    ----------
    requirements : path of requirements.txt (lines "name==version").
    cards : architecture -> model_card.json, whose `versions` were recorded
        when it was trained.
    environment : path of the conda environment file that pins Python
        (envs/*.yaml, "python=3.11"), or None. Python's installed version is
        the running interpreter's.

    Returns
    -------
    DataFrame(package, pinned, installed, one column per architecture):
    python and alnus first, then the packages of requirements.txt, then
    those only a card records; "not installed" where this environment lacks
    a package, "" where a card does not record it or nothing pins it.
    """
    rows = [
        {"package": "python", "pinned": python_pin(environment), "installed": platform.python_version()},
        {"package": "alnus", "pinned": "", "installed": alnus.__version__},
    ]
    rows += [
        {"package": name, "pinned": version, "installed": installed_version(name)}
        for name, version in read_pins(requirements).items()
    ]
    table = pd.DataFrame(rows)
    for arch, path in (cards or {}).items():
        versions = json.loads(Path(path).read_text()).get("versions", {})
        column = f"trained ({arch})"
        table[column] = table["package"].map(versions).fillna("")
        for name in [k for k in versions if k not in set(table["package"])]:
            table.loc[len(table)] = {"package": name, "pinned": "", "installed": "", column: versions[name]}
    return table.fillna("")

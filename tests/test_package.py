"""The installed package holds every file the code reads at run time.

An editable install or a source checkout reads data files from the tree, so a file left out of
``[tool.setuptools.package-data]`` only breaks ``pip install .`` (the README's first command).  This checks every
data file under ``src/newswatch`` against those patterns, as setuptools matches them.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "newswatch"


def test_every_data_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["newswatch"]
    data = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"}
    ]
    assert any(name.endswith(".sql") for name in data) and any(name.endswith(".lua") for name in data)
    missing = [name for name in data if not any(fnmatch.fnmatchcase(name, pat) for pat in patterns)]
    assert not missing, f"add to [tool.setuptools.package-data]: {missing}"

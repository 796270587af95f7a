"""The matching code of an earlier commit, importable beside ours, so a benchmark times both in one run.

``load_baseline(REF)`` copies ``src/newswatch/match`` as it was at git revision REF into a temporary
directory as the package ``nwbase_match`` (its own imports of ``newswatch.match`` rewritten; everything else,
such as ``newswatch.config`` and ``newswatch.models``, is today's) and imports it.  The default revision is the
commit before issue 11's and issue 15's matching work, so "baseline" means the matcher as it was.

Needs a git checkout (the benchmarks are run from one).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

BEFORE_ISSUES_11_15 = "fc3da43"
_PACKAGE = "nwbase_match"


def load_baseline(ref: str = BEFORE_ISSUES_11_15) -> ModuleType:
    """The ``newswatch.match`` package of revision ``ref``, imported as ``nwbase_match``."""
    repo = Path(__file__).resolve().parent.parent
    listing = _git(repo, "ls-tree", "--name-only", ref, "src/newswatch/match/")
    root = Path(tempfile.mkdtemp(prefix="newswatch-baseline-"))
    package = root / _PACKAGE
    package.mkdir()
    for path in listing.split():
        if path.endswith(".py"):
            source = _git(repo, "show", f"{ref}:{path}").replace("newswatch.match", _PACKAGE)
            (package / Path(path).name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module(_PACKAGE)


def _git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot read the baseline from git ({' '.join(args)}): {exc}") from None

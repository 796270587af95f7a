"""Relative paths in a config: every one resolves against the config file's folder.

Owns which values are paths (local feed files, ``stories.weights``, an ``sqlite:///`` store, ``notify.jsonl``,
``archive``) and which of them used to resolve against the working directory (the store and the JSONL file),
so start-up can name a file left at its old place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newswatch.config import Config


def resolve_paths(cfg: Config, base: Path) -> tuple[Config, tuple[tuple[str, str], ...]]:
    """Every relative path of the config made absolute against ``base`` (the config file's folder), and the
    relative ones as written beside where they now point."""
    moved: list[tuple[str, str]] = []

    def resolve(path: str, *, was_cwd: bool = False) -> str:
        if Path(path).is_absolute():
            return path
        absolute = str((base / path).resolve())
        if was_cwd:  # the store and the JSONL file used to resolve against the working directory
            moved.append((path, absolute))
        return absolute

    feeds = [f if f.is_http else f.model_copy(update={"url": resolve(f.url)}) for f in cfg.feeds]
    update: dict[str, Any] = {"feeds": feeds}
    if cfg.stories.weights is not None:
        update["stories"] = cfg.stories.model_copy(update={"weights": resolve(cfg.stories.weights)})
    if cfg.store and cfg.store.startswith("sqlite:///") and cfg.store != "sqlite:///":
        update["store"] = "sqlite:///" + resolve(cfg.store.removeprefix("sqlite:///"), was_cwd=True)
    if cfg.notify.jsonl and cfg.notify.jsonl != "-":
        update["notify"] = cfg.notify.model_copy(update={"jsonl": resolve(cfg.notify.jsonl, was_cwd=True)})
    if cfg.archive:
        update["archive"] = resolve(cfg.archive)
    return cfg.model_copy(update=update), tuple(moved)

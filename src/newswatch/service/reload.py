"""Reloading the config of a running service (SIGHUP) without stopping it.

Owns what a reload does: read, parse, validate and compile the file in a worker thread (a 17,000-line
watchlist takes a fraction of a second of CPU, which must not stall polling, delivery or /healthz), and take
the result only if all of it succeeded; otherwise the running config stays in force and one error line says
why.  Store, notify and http settings are kept as they run (their connections are open) until a restart, and
so are the story weights (the CPU workers sketch items with the sizes they were fitted with).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newswatch.config import ConfigError, LoadedConfig, load_config

if TYPE_CHECKING:
    from newswatch.app import App
    from newswatch.service.scheduler import Scheduler

log = logging.getLogger("newswatch")

MAX_LOGGED_PROBLEMS = 5  # a file with hundreds of mistakes still gets one readable line; `check` lists all


@dataclass(frozen=True)
class _Fresh:
    loaded: LoadedConfig


def _load(path: Path) -> _Fresh:
    """Everything that can fail or take CPU time, off the event loop; raises ConfigError."""
    from newswatch.match import compile_watches, validate_watches

    fresh = load_config(path)
    problems = validate_watches(fresh.config.entities, fresh.config.watches)
    if problems:
        # A syntax error renders as three lines (message, query, caret); its first line names the position.
        raise ConfigError("\n".join(f"{path}: {p.splitlines()[0]}" for p in problems))
    # Compiled here only to refuse what would not compile; the CPU stage's workers compile their own copy.
    compile_watches(fresh.config.entities, fresh.config.watches)
    return _Fresh(fresh)


async def reload_config(path: Path, app: App, scheduler: Scheduler) -> bool:
    """Read ``path`` again and run it if it is valid; True if it was taken, False if the old config stays."""
    try:
        fresh = await asyncio.to_thread(_load, path)
    except ConfigError as exc:
        _rejected(app, str(exc).splitlines())
        return False
    except Exception as exc:  # a bug, not a bad file: still no reason to stop a running service
        log.error("config reload failed unexpectedly; still running the previous config", exc_info=exc)
        app.metrics.config_reloads.labels("rejected").inc()
        return False
    old, new = app.loaded.config, fresh.loaded.config
    if (old.store, old.notify, old.http) != (new.store, new.notify, new.http):
        log.warning("config reload: store, notify and http settings take effect only after a restart")
    if old.stories.weights != new.stories.weights:
        log.warning("config reload: stories.weights takes effect only after a restart")
    # Connections and notifiers are the running ones; routing must not name a notifier that is not there.  The
    # story weights are the running ones too: the CPU workers sketch items with their sizes.
    stories = new.stories.model_copy(update={"weights": old.stories.weights})
    kept = new.model_copy(
        update={"store": old.store, "notify": old.notify, "http": old.http, "stories": stories}
    )
    app.pipeline.reload(kept)
    app.loaded = fresh.loaded
    app.metrics.feeds_configured.set(len(new.feeds))
    app.metrics.config_reloads.labels("ok").inc()
    scheduler.reload()
    log.info("config reloaded", extra={"feeds": len(new.feeds), "watches": len(new.watches)})
    return True


def _rejected(app: App, problems: list[str]) -> None:
    shown = [" ".join(p.split()) for p in problems[:MAX_LOGGED_PROBLEMS]]  # one line, whatever the file holds
    more = len(problems) - len(shown)
    tail = f"; and {more} more (run newswatch check)" if more > 0 else ""
    log.error(
        "config reload rejected, still running the previous config", extra={"error": "; ".join(shown) + tail}
    )
    app.metrics.config_reloads.labels("rejected").inc()


class ReloadOnSignal:
    """The SIGHUP handler: one reload at a time; signals that arrive meanwhile become one more reload after it
    (which reads the file as it is then), so a burst of signals costs at most two reloads."""

    def __init__(self, path: Path, app: App, scheduler: Scheduler) -> None:
        self._args = (path, app, scheduler)
        self.task: asyncio.Task[None] | None = None  # the reload running or last run, to await it
        self._again = False

    def __call__(self) -> None:
        if self.task is not None and not self.task.done():
            self._again = True
            return
        # Tracked by the app's supervisor: cancelled on shutdown, a crash logged with its traceback.
        self.task = self._args[1].tasks.spawn("config reload", self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await reload_config(*self._args)
            except Exception:  # applying the new config hit a bug: say so; the service keeps running
                log.exception("config reload failed unexpectedly")
            if not self._again:
                return

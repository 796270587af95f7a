"""The application context: the one ``async with`` that owns every resource (store, HTTP session,
notifiers, executor) and hands them to the pipeline.  Nothing else creates a connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from newswatch.config import LoadedConfig, NotifyConfig, store_url
from newswatch.fetch import make_session
from newswatch.match import compile_watches
from newswatch.notify.base import Notifier
from newswatch.notify.console import ConsoleNotifier
from newswatch.notify.jsonl import JsonlNotifier
from newswatch.notify.slack import SlackNotifier
from newswatch.pipeline import Pipeline
from newswatch.store import Store, open_store


class StartupError(Exception):
    """newswatch cannot run at all: the store is unreachable or a notifier rejected its credentials."""


@dataclass
class App:
    loaded: LoadedConfig
    store: Store
    pipeline: Pipeline


def build_notifiers(cfg: NotifyConfig, stdout: TextIO | None = None) -> list[Notifier]:
    notifiers: list[Notifier] = []
    if cfg.jsonl:
        notifiers.append(JsonlNotifier(cfg.jsonl, stream=stdout if cfg.jsonl == "-" else None))
    if cfg.slack and cfg.slack.token:
        notifiers.append(SlackNotifier(cfg.slack.token, cfg.slack.channel, cfg.slack.base_url))
    elif cfg.jsonl != "-":
        # Without Slack, alerts still reach a person: print them (unless JSONL already owns stdout).
        notifiers.append(ConsoleNotifier(stdout))
    return notifiers


@contextlib.asynccontextmanager
async def open_app(
    loaded: LoadedConfig, *, exclusive: bool = True, stdout: TextIO | None = None
) -> AsyncIterator[App]:
    from newswatch.notify.base import NotifyError
    from newswatch.store import StoreError

    cfg = loaded.config
    matcher = compile_watches(cfg.entities, cfg.watches)
    async with contextlib.AsyncExitStack() as stack:
        try:
            store = open_store(store_url(cfg), exclusive=exclusive)
        except StoreError as exc:
            raise StartupError(str(exc)) from None
        stack.push_async_callback(store.close)
        try:
            await store.ping()
        except StoreError as exc:
            raise StartupError(f"store unreachable: {exc}") from None
        notifiers = build_notifiers(cfg.notify, stdout)
        for n in notifiers:
            stack.push_async_callback(n.close)
            try:
                await n.start()
            except NotifyError as exc:
                raise StartupError(str(exc)) from None
        session = await stack.enter_async_context(make_session(cfg.fetch))
        executor = stack.enter_context(
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="newswatch-parse")
        )
        pipeline = Pipeline(
            config=cfg, store=store, session=session, matcher=matcher, notifiers=notifiers, executor=executor
        )
        yield App(loaded, store, pipeline)

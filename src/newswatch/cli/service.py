"""`newswatch run`: the service (until SIGTERM), or one cycle with ``--once``; WebSub push and Slack's Socket
Mode are started here, for the service only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING

from newswatch.cli.common import EXIT_OK, EXIT_STARTUP
from newswatch.config import LoadedConfig, WebSubConfig

if TYPE_CHECKING:
    from newswatch.app import App

log = logging.getLogger("newswatch")


async def run(loaded: LoadedConfig, *, once: bool) -> int:
    from newswatch.app import StartupError, open_app
    from newswatch.shared.listener import quiet_loop_errors
    from newswatch.store import StoreError

    # The loop's own error reports (a failed accept() on every retry…) as rate-limited log lines, not stderr.
    quiet_loop_errors(asyncio.get_running_loop())
    try:
        async with open_app(loaded, exclusive=True) as app, contextlib.AsyncExitStack() as stack:
            if once:
                report = await app.pipeline.run_once()
                log.info("cycle done", extra=report.fields())
                return EXIT_OK
            from newswatch.service.reload import ReloadOnSignal
            from newswatch.service.scheduler import Scheduler

            scheduler = Scheduler(app.pipeline, app.tasks, heartbeat=app.heartbeat.beat, health=app.schedule)
            if loaded.config.websub is not None:
                await _start_push(app, loaded.config.websub, stack)
                stack.push_async_callback(app.tasks.close)  # subscriptions end before the subscriber closes
            slack = loaded.config.notify.slack
            if app.actions is not None and slack is not None and slack.app_token:
                await _start_socket_mode(app, slack.app_token, slack.base_url, stack)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, scheduler.signalled, stop, sig.name)
            loop.add_signal_handler(signal.SIGHUP, ReloadOnSignal(loaded.path, app, scheduler))
            health = {"health": f"{app.ops.url}/healthz"} if app.ops else {}
            log.info("watching; Ctrl-C to stop",
                     extra={"feeds": len(loaded.config.feeds), "watches": len(loaded.config.watches), **health})  # fmt: skip
            await scheduler.run(stop)  # its last log line says what is left in the outbox
            return EXIT_OK
    except StartupError as exc:
        print(f"newswatch: cannot start: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    except StoreError as exc:
        print(f"newswatch: store failed: {exc}", file=sys.stderr)
        return EXIT_STARTUP


async def _start_push(app: App, cfg: WebSubConfig, stack: contextlib.AsyncExitStack) -> None:
    from newswatch.app import StartupError
    from newswatch.feeds.push import WebSubSettings, WebSubSubscriber
    from newswatch.feeds.pushed import PushedFeeds

    try:
        settings = WebSubSettings(cfg.callback_url, cfg.secret, cfg.listen, cfg.lease)
        subscriber = WebSubSubscriber(settings, app.pipeline.on_push)
        await subscriber.start()
    except (ValueError, OSError) as exc:
        raise StartupError(f"websub: {exc}") from None
    stack.push_async_callback(subscriber.close)
    app.pipeline.push = PushedFeeds(subscriber, app.pipeline.session, app.tasks.spawn)
    log.info("websub callbacks listening", extra={"listen": cfg.listen, "callback_url": cfg.callback_url})


async def _start_socket_mode(
    app: App, app_token: str, base_url: str, stack: contextlib.AsyncExitStack
) -> None:
    from newswatch.app import StartupError
    from newswatch.delivery.notify.base import NotifyError
    from newswatch.service.socketmode import SocketModeActions

    assert app.actions is not None
    socket = SocketModeActions(app_token, base_url, app.actions, metrics=app.metrics)
    stack.push_async_callback(socket.close)
    try:
        await socket.start()
    except NotifyError as exc:
        raise StartupError(f"Slack Socket Mode: {exc}") from None
    app.tasks.start("slack socket mode", socket.watch)

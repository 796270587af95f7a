"""The application context: the one ``async with`` that owns every resource (store, HTTP session,
notifiers, executor) and hands them to the pipeline.  Nothing else creates a connection.  With a Slack app
configured for actions it also builds their handler, and mounts ``POST /slack/actions`` on the ops server
when a signing secret is set (Socket Mode is started by ``run``, cli/service.py); with ``http.status`` the
status pages too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from newswatch import constants as C
from newswatch.config import LoadedConfig, NotifyConfig, store_url
from newswatch.cpu import CpuStage, worker_count
from newswatch.delivery.notify.apprise_sink import AppriseNotifier
from newswatch.delivery.notify.base import Notifier, NotifyError
from newswatch.delivery.notify.console import ConsoleNotifier
from newswatch.delivery.notify.jsonl import JsonlNotifier
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.notify.webhook import JsonWebhookNotifier, SlackWebhookNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.delivery.routing import slack_channels
from newswatch.feeds.fetch import make_session
from newswatch.feeds.netguard import AddressGuard
from newswatch.pipeline import Pipeline
from newswatch.recorder import story_models
from newswatch.service.http import AllHealthy, Heartbeat, OpsServer, Route, StoreHealth
from newswatch.service.metrics import Metrics, instrument_store
from newswatch.service.schedule import ScheduleHealth
from newswatch.service.slackactions import ActionHandler, ActionsEndpoint
from newswatch.service.status import StatusPages
from newswatch.service.supervise import Supervisor
from newswatch.shared.clock import steady_now
from newswatch.store import Store, StoreError, open_store
from newswatch.stories import DocFreq


class StartupError(Exception):
    """newswatch cannot run at all: the store is unreachable or a notifier rejected its credentials."""


@dataclass
class App:
    loaded: LoadedConfig
    store: Store
    pipeline: Pipeline
    metrics: Metrics
    heartbeat: Heartbeat
    ops: OpsServer | None = None
    tasks: Supervisor = field(default_factory=Supervisor)  # every background task; /healthz reports on them
    actions: ActionHandler | None = None  # Slack actions, when notify.slack has a signing secret or app token
    schedule: ScheduleHealth = field(default_factory=ScheduleHealth)  # overdue feeds, for /healthz


def build_notifiers(
    cfg: NotifyConfig, stdout: TextIO | None = None, metrics: Metrics | None = None
) -> dict[str, Notifier]:
    """Every notifier the config asks for, by the target kind it serves (see pipeline.watch_targets)."""
    notifiers: list[Notifier] = [
        ConsoleNotifier(stdout)
    ]  # also serves records queued before Slack was set up
    if cfg.jsonl:
        notifiers.append(JsonlNotifier(cfg.jsonl, stream=stdout if cfg.jsonl == "-" else None))
    if (slack := cfg.slack) and slack.token:
        buttons = bool(slack.signing_secret or slack.app_token)  # only when their clicks can be received
        notifiers.append(
            SlackNotifier(
                slack.token, slack.base_url, pace=slack.min_interval, metrics=metrics, buttons=buttons
            )
        )
    if cfg.slack_webhook:
        notifiers.append(SlackWebhookNotifier(cfg.slack_webhook))
    if cfg.webhook:
        notifiers.append(JsonWebhookNotifier(cfg.webhook.url, cfg.webhook.secret))
    if cfg.apprise:
        notifiers.append(AppriseNotifier(cfg.apprise))
    return {n.name: n for n in notifiers}


@contextlib.asynccontextmanager
async def open_app(
    loaded: LoadedConfig, *, exclusive: bool = True, stdout: TextIO | None = None, worker: str | None = None
) -> AsyncIterator[App]:
    cfg = loaded.config
    metrics = Metrics()
    metrics.feeds_configured.set(len(cfg.feeds))
    async with contextlib.AsyncExitStack() as stack:
        try:
            raw_store = open_store(store_url(cfg), exclusive=exclusive)
        except StoreError as exc:
            raise StartupError(str(exc)) from None
        stack.push_async_callback(raw_store.close)
        store = instrument_store(raw_store, metrics)
        try:
            await store.ping()
        except StoreError as exc:
            raise StartupError(f"store unreachable: {exc}") from None
        try:
            await store.check_safe()
        except StoreError as exc:
            raise StartupError(str(exc)) from None
        notifiers = build_notifiers(cfg.notify, stdout, metrics)
        for n in notifiers.values():
            stack.push_async_callback(n.close)
            try:
                await n.start()
            except NotifyError as exc:
                raise StartupError(str(exc)) from None
        guard = AddressGuard()  # trusts what the running config lists (see follow below)
        session = await stack.enter_async_context(make_session(cfg.fetch, guard))
        # Parsing, matching and story sketches: CPU work, in worker processes (or a thread with workers: 0).
        try:
            story_params = story_models(cfg)[0].params
        except (OSError, ValueError) as exc:
            raise StartupError(f"stories.weights: {exc}") from None
        cpu = CpuStage(cfg.entities, cfg.watches, story_params, worker_count(cfg.workers),
                       archive=cfg.archive is not None)  # fmt: skip
        stack.callback(cpu.close)
        await cpu.start()
        policy = DeliveryPolicy(flood_max=cfg.notify.flood.max_alerts, flood_window=cfg.notify.flood.window,
                                parked_ttl=cfg.notify.parked_ttl)  # fmt: skip
        delivery = Delivery(store, notifiers, policy=policy, worker=worker, metrics=metrics)
        try:
            counts, docs = await store.doc_freq(C.MAX_DF_TERMS)
        except StoreError as exc:
            raise StartupError(f"store unreachable: {exc}") from None
        tasks = Supervisor()
        stack.push_async_callback(tasks.close)  # before the session, store and notifiers they use are closed
        pipeline = Pipeline(
            config=cfg,
            store=store,
            session=session,
            cpu=cpu,
            delivery=delivery,
            doc_freq=DocFreq(counts, docs),
            clock=steady_now,  # due times and item ages by a clock that never steps back (shared/clock.py)
            metrics=metrics,
        )
        # What this process learned of document frequencies is written when it stops, too.
        stack.push_async_callback(_flush_doc_freq, pipeline)
        guard.follow(lambda: pipeline.config)  # so a reloaded config's feeds are trusted as written
        delivery.linked = _linked_channels(pipeline)
        heartbeat = Heartbeat()
        schedule = ScheduleHealth()
        actions, routes = _slack_actions(cfg.notify, notifiers, store, tasks, metrics)
        ops = None
        if cfg.http.listen:

            async def collect() -> None:
                metrics.alerts_pending.set(await store.outbox_pending())

            if cfg.http.status:  # the read-only status pages (service/status.py), from the store
                routes += StatusPages(store, lambda: pipeline.config, cfg.http.token).routes()
            health = AllHealthy(tasks, StoreHealth(store, heartbeat), schedule)
            ops = OpsServer(
                cfg.http.listen, metrics, health, collect=collect, routes=routes, token=cfg.http.token
            )
            try:
                await ops.start()
            except (OSError, ValueError) as exc:
                raise StartupError(f"http.listen: {exc}") from None
            stack.push_async_callback(ops.stop)
        yield App(loaded, store, pipeline, metrics, heartbeat, ops, tasks, actions, schedule)


def _slack_actions(
    cfg: NotifyConfig, notifiers: dict[str, Notifier], store: Store, tasks: Supervisor, metrics: Metrics
) -> tuple[ActionHandler | None, list[Route]]:
    """The handler of Slack actions and, with a signing secret, its HTTP route (none without a Slack app)."""
    slack, notifier = cfg.slack, notifiers.get("slack")
    if (
        slack is None
        or not isinstance(notifier, SlackNotifier)
        or not (slack.signing_secret or slack.app_token)
    ):
        return None, []
    handler = ActionHandler(store, notifier.redraw, tasks.spawn, metrics=metrics, users=slack.actions_users)
    if not slack.signing_secret:
        return handler, []
    endpoint = ActionsEndpoint(slack.signing_secret, handler, metrics=metrics)
    return handler, [("POST", C.SLACK_ACTIONS_PATH, endpoint.handle)]


def _linked_channels(pipeline: Pipeline) -> Callable[[str], tuple[str, ...]]:
    """watch -> its Slack channels, for the running config (worked out again only after a reload)."""
    cache: list[Any] = [None, {}]  # the config it was worked out for (kept: an id could be reused), the map

    def linked(watch: str) -> tuple[str, ...]:
        cfg = pipeline.config
        if cache[0] is not cfg:
            cache[:] = [cfg, slack_channels(cfg)]
        found: tuple[str, ...] = cache[1].get(watch, ())
        return found

    return linked


async def _flush_doc_freq(pipeline: Pipeline) -> None:
    with contextlib.suppress(StoreError):
        await pipeline.recorder.flush_doc_freq(force=True)

"""The ``notify:`` section of the config: where alerts go (JSONL, Slack, webhooks, Apprise URLs), flood control, shutdown
grace, parked records, and the Slack app's credentials for actions (``signing_secret``, ``app_token``).

Secrets (tokens, the signing secret, webhook URLs) never appear in a repr or a validation message.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import Field, field_validator

from newswatch import constants as C
from newswatch.config.values import Duration, Strict, check_http_url, redact_url


class FloodConfig(Strict):
    max_alerts: int = Field(default=10, gt=0)  # top-level messages per channel and window before a digest
    window: Duration = 60.0


class WebhookConfig(Strict):
    url: str = Field(min_length=1)  # may carry user:pass@ (HTTP basic auth for the receiving end)
    secret: str | None = None  # HMAC-SHA256 key for the X-Newswatch-Signature header

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        return check_http_url(v, "https://example.org/hook", userinfo=True)

    def __repr__(self) -> str:  # the URL's path and credentials may be its secret
        return f"WebhookConfig(url={redact_url(self.url)!r}, secret={'***' if self.secret else None})"

    __str__ = __repr__


class AppriseTarget(Strict):
    """One Apprise URL (``discord://…``, ``tgram://…``, ``mailto://…``, ``json://…``): the URL is its credential."""

    url: str = Field(min_length=1, repr=False)
    # Its outbox queue is "apprise:NAME"; watches name it in `targets:`.  Default: a hash of the URL.
    name: str = ""

    @field_validator("url")
    @classmethod
    def _apprise_url(cls, v: str) -> str:
        from newswatch.shared.appriseurl import instantiate

        instantiate(v)  # ValueError, without the URL, when Apprise cannot use it
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v and not v.replace("-", "").replace("_", "").isalnum():
            raise ValueError("an Apprise target's name is letters, digits, - and _ only")
        return v

    @property
    def key(self) -> str:
        """The name, or a stable one that says nothing of the URL."""
        return self.name or "u" + hashlib.sha256(self.url.encode()).hexdigest()[:10]

    def __repr__(self) -> str:
        return f"AppriseTarget(name={self.key!r}, url=***)"

    __str__ = __repr__


class SlackConfig(Strict):
    token: str | None = None  # bot token for chat.postMessage; empty means Slack is off
    channel: str | None = None
    base_url: str = C.DEFAULT_SLACK_BASE_URL
    min_interval: Duration = 1.0  # between two messages to one channel (Slack allows about one per second)
    # Slack actions (the buttons on alerts) over HTTP: the app's signing secret verifies each request to
    # POST /slack/actions on http.listen.  Use ${SLACK_SIGNING_SECRET}; empty means off.
    signing_secret: str | None = Field(default=None, repr=False)
    # …or through Socket Mode (no public URL): an app-level token, xapp-….  Use ${SLACK_APP_TOKEN}.
    app_token: str | None = Field(default=None, repr=False)
    # Who may use the buttons: Slack user ids (U…, W…).  Empty: anyone who sees the alert.
    actions_users: list[str] = Field(default_factory=list)

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        return v or None  # `${SLACK_SIGNING_SECRET:-}` with the variable unset: off

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, v: str | None) -> str | None:
        if v and not v.startswith("xapp-"):
            raise ValueError("is not an app-level token (they start with xapp-; see README, Slack)")
        return v or None

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        # No user:pass@: Slack is authenticated by the token, and aiohttp refuses a request that carries both
        # (a ValueError at the first API call, which used to end `run` with a traceback).
        check_http_url(v, C.DEFAULT_SLACK_BASE_URL, userinfo=False)
        return v if v.endswith("/") else v + "/"

    def __repr__(self) -> str:  # never print the token or the secrets
        token, secret, app = ("***" if v else None for v in (self.token, self.signing_secret, self.app_token))
        return (f"SlackConfig(channel={self.channel!r}, base_url={self.base_url!r}, token={token}, "
                f"signing_secret={secret}, app_token={app})")  # fmt: skip

    __str__ = __repr__


class NotifyConfig(Strict):
    jsonl: str | None = None  # a path or "-" for stdout
    slack: SlackConfig | None = None
    # An incoming-webhook URL (no threads); use ${SLACK_WEBHOOK_URL}.  Empty means off.  Kept out of repr():
    # the URL is the credential.
    slack_webhook: str | None = Field(default=None, repr=False)
    webhook: WebhookConfig | None = None  # generic JSON webhook
    # Apprise URLs (Teams, Discord, Telegram, email, Mattermost, …): each a URL, or {url, name}.
    apprise: list[AppriseTarget] = Field(default_factory=list)
    flood: FloodConfig = Field(default_factory=FloodConfig)
    shutdown_grace: Duration = 10.0  # on SIGTERM, how long to keep delivering what is queued
    # Parked records (undeliverable as configured) are deleted this long after they were parked.
    parked_ttl: Annotated[Duration, Field(gt=0)] = C.DEFAULT_PARKED_TTL_S

    @field_validator("slack_webhook")
    @classmethod
    def _slack_webhook_url(cls, v: str | None) -> str | None:
        if not v:  # `${SLACK_WEBHOOK_URL:-}` with the variable unset: no webhook
            return None
        return check_http_url(v, "https://hooks.slack.com/services/…", userinfo=False)

    @field_validator("apprise", mode="before")
    @classmethod
    def _apprise_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            # `${TEAMS_URL:-}` with the variable unset: that target is off.
            return [{"url": x} if isinstance(x, str) else x for x in v if x != ""]
        return v

    @field_validator("apprise")
    @classmethod
    def _unique_apprise(cls, v: list[AppriseTarget]) -> list[AppriseTarget]:
        keys = [a.key for a in v]
        if len(set(keys)) != len(keys):
            raise ValueError("two Apprise targets have the same name (or URL); names identify their queues")
        return v

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack and self.slack.token)

"""Apprise URLs (``discord://…``, ``tgram://…``, ``json://…``): reading one, and showing it without its secret.

Owns the one call into Apprise's URL parser that the config check, ``newswatch check`` and the Apprise notifier
share, and the label a URL is shown under: its scheme and host as Apprise's own privacy mode writes them
(``discord://1...0``), with the service's name.  An Apprise URL is a credential (a webhook token, a bot token,
a password), so neither the URL nor a part of it that Apprise would mask is ever repeated in a message.
"""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any
from urllib.parse import urlsplit

__all__ = ["instantiate", "label"]

_lock = threading.Lock()


def instantiate(url: str) -> Any:
    """Apprise's plugin object for ``url``; ValueError (not naming the URL) when Apprise cannot use it."""
    # One at a time: Apprise loads its plugin registry on first use.  Some of its ~190 plugins import modules
    # Python deprecates (imghdr): their business, not a user's.
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise  # on first use: loading the plugins takes a tenth of a second

        quiet()
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        hint = f" (scheme {scheme!r})" if scheme and len(scheme) <= 16 and scheme.isalnum() else ""
        raise ValueError(f"is not a URL Apprise can use{hint}; see Apprise's list of services and URL forms")
    return plugin


def label(plugin: Any) -> str:
    """``scheme://host (Service)`` of a plugin, secrets masked the way Apprise's privacy mode masks them."""
    try:
        parts = urlsplit(str(plugin.url(privacy=True)))
        where = f"{parts.scheme}://{parts.hostname or ''}"
    except ValueError:
        where = "(unreadable URL)"
    return f"{where} ({plugin.service_name})"


def quiet() -> None:
    """Apprise's own log lines carry request payloads and, at debug level, URLs: they never reach our log
    (the notifier reads the failures it reports itself: delivery/notify/apprise_sink.py)."""
    logger = logging.getLogger("apprise")
    logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)  # its warnings say why a message was not sent

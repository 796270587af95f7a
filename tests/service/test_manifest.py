"""The Slack app manifests in config/ match what the code does: the interactivity URL is the path the ops server
serves, the scopes cover the calls newswatch makes, and Socket Mode is on in one and off in the other."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from newswatch import constants as C

CONFIG = Path(__file__).parents[2] / "config"


def manifest(name: str) -> dict[str, object]:
    data = yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_http_manifest_posts_actions_to_the_path_newswatch_serves() -> None:
    m = manifest("slack-app-manifest.yaml")
    settings = m["settings"]
    assert isinstance(settings, dict)
    assert settings["interactivity"]["is_enabled"] is True
    assert urlsplit(settings["interactivity"]["request_url"]).path == C.SLACK_ACTIONS_PATH
    assert settings["socket_mode_enabled"] is False
    assert "chat:write" in m["oauth_config"]["scopes"]["bot"]  # type: ignore[index]


def test_socket_mode_manifest_has_no_request_url() -> None:
    m = manifest("slack-app-manifest-socket.yaml")
    settings = m["settings"]
    assert isinstance(settings, dict)
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"] == {"is_enabled": True}
    assert m["oauth_config"] == manifest("slack-app-manifest.yaml")["oauth_config"]

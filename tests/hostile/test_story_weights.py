"""A story weights file (``stories.weights``) that cannot be used: a clear error before anything is recorded, so
nothing is lost or sent twice; a reload that names another file keeps the running weights (and says so)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from newswatch.app import open_app
from newswatch.cli import EXIT_OK, EXIT_STARTUP, main
from newswatch.config import load_config
from newswatch.service.reload import reload_config
from newswatch.service.scheduler import Scheduler
from newswatch.stories import SIGNALS, default_model

ARCHIVE = Path(__file__).parents[1] / "fixtures" / "archive" / "story.jsonl"
CONFIG = """
store: {store}
max_item_age: null
watches:
  - {{name: everything, query: '*'}}
{stories}
notify: {{jsonl: {out}}}
"""
SHIPPED = (Path(__file__).parents[2] / "src" / "newswatch" / "stories" / "weights.json").read_text(
    encoding="utf-8"
)


def bad_weights() -> dict[str, str]:
    """File name -> content, each unusable in its own way."""
    other = json.loads(SHIPPED)
    other["signals"] = [*SIGNALS[:-1], "sentiment"]
    out_of_range = json.loads(SHIPPED)
    out_of_range["threshold"] = 1.5
    return {
        "truncated.json": SHIPPED[: len(SHIPPED) // 2],
        "list.json": "[1, 2, 3]",
        "other-signals.json": json.dumps(other),
        "threshold.json": json.dumps(out_of_range),
    }


def write_config(tmp_path: Path, store: str, stories: str) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=store, stories=stories, out=tmp_path / "out.jsonl"), encoding="utf-8")
    return cfg


def records(tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / "out.jsonl"
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []


@pytest.mark.parametrize("name", [*bad_weights(), "missing.json"])
def test_unusable_weights_refuse_to_start_and_lose_nothing(
    tmp_path: Path, store_url: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    content = bad_weights().get(name)
    if content is not None:
        (tmp_path / name).write_text(content, encoding="utf-8")
    cfg = write_config(tmp_path, store_url, f"stories: {{weights: {name}}}")  # relative to the config file
    assert (
        main(["replay", "-q", "-c", str(cfg), str(ARCHIVE), "--notify", "--store", store_url]) == EXIT_STARTUP
    )
    err = capsys.readouterr().err
    assert "cannot start: stories.weights:" in err and name in err, err
    assert records(tmp_path) == []
    # Fixed (the shipped weights), the same archive is replayed whole: every item recorded once.
    cfg = write_config(tmp_path, store_url, "")
    assert main(["replay", "-q", "-c", str(cfg), str(ARCHIVE), "--notify", "--store", store_url]) == EXIT_OK
    recs = records(tmp_path)
    assert len(recs) == 8 and len({r["url"] for r in recs}) == 8


async def test_a_reload_keeps_the_running_weights(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    retrained = json.loads(SHIPPED)
    # A threshold the shipped weights do not have, with its "possibly related" band below it.
    threshold = 0.77 if default_model().threshold != 0.77 else 0.78
    retrained["threshold"], retrained["related"] = threshold, threshold / 2
    (tmp_path / "retrained.json").write_text(json.dumps(retrained), encoding="utf-8")
    cfg = write_config(tmp_path, store_url, "stories: {weights: retrained.json}")
    caplog.set_level(logging.INFO, logger="newswatch")
    async with open_app(load_config(cfg)) as app:
        assert app.pipeline.recorder._model.threshold == threshold
        cfg.write_text(cfg.read_text(encoding="utf-8").replace("stories: {weights: retrained.json}", ""))
        assert await reload_config(cfg, app, Scheduler(app.pipeline, app.tasks)) is True
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert "config reload: stories.weights takes effect only after a restart" in warned
        # Still the running file's, not the shipped one's.
        assert app.pipeline.recorder._model.threshold == threshold
        assert app.pipeline.recorder._model.related == pytest.approx(threshold / 2)

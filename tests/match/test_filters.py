"""Watch filters (``languages``, ``sources``, ``exclude_sources``) on a mixed feed served over local HTTP:
what they keep out never reaches the outbox, and ``match`` says why."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from newswatch.cli import main, run
from newswatch.cli.match import run_match
from newswatch.config import load_config
from tests.feedserver import FeedServer

# One feed, several outlets (link domains) and languages, every item about the same election.
ITEMS = [
    ("pt-folha", "https://www.folhaexemplo.example/mundo/eleicao",
     "Eleição no Brasil: Lula e Bolsonaro disputam o segundo turno",
     "A eleição presidencial no Brasil terá um segundo turno entre os dois candidatos, segundo o tribunal eleitoral."),
    ("es-pais", "https://elpaisejemplo.example/internacional/elecciones-brasil",
     "Elecciones en Brasil: Lula y Bolsonaro irán a segunda vuelta",
     "Las elecciones presidenciales de Brasil se decidirán en una segunda vuelta entre los dos candidatos, informó el tribunal."),
    ("en-wire", "https://wire.example/world/brazil-election-runoff",
     "Brazil election heads to a runoff between Lula and Bolsonaro",
     "Brazil's presidential election will be decided in a runoff between the two candidates, the electoral court said."),
    ("de-blatt", "https://blatt.example/ausland/brasilien-wahl",
     "Wahl in Brasilien: Lula und Bolsonaro müssen in die Stichwahl",
     "Die Präsidentschaftswahl in Brasilien wird in einer Stichwahl zwischen den beiden Kandidaten entschieden, teilte das Wahlgericht mit."),
    ("pt-spam", "https://clickbait.example/lula-bolsonaro-segredo",
     "Você não vai acreditar no que Lula disse a Bolsonaro antes do segundo turno",
     "O segredo que os candidatos não querem que você saiba sobre a eleição no Brasil e o segundo turno."),
]  # fmt: skip


def mixed_feed() -> str:
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
        f"<description>{text}</description><pubDate>Mon, 03 Oct 2022 10:00:00 GMT</pubDate></item>"
        for guid, link, title, text in ITEMS
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Mixed</title>{entries}</channel></rss>'


def write_config(tmp_path: Path, feed_url: str) -> Path:
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(
        f"""
store: sqlite:///{tmp_path / "state.db"}
workers: 0
max_item_age: null
feeds:
  - {{url: "{feed_url}", name: Mixed Wire}}
watches:
  - name: iberian
    query: 'lula AND bolsonaro'
    languages: [pt, es]
    exclude_sources: [clickbait.example]
  - name: not-the-wire
    query: 'lula AND bolsonaro'
    exclude_sources: [wire.example, blatt.example]
  - name: only-folha
    query: 'lula'
    sources: [folhaexemplo.example]
notify:
  jsonl: {tmp_path / "alerts.jsonl"}
""",
        encoding="utf-8",
    )
    return cfg


def alerted(tmp_path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        out.setdefault(rec["watch"], set()).add(rec["url"])
    return out


def urls(*guids: str) -> set[str]:
    return {link for guid, link, _, _ in ITEMS if guid in guids}


async def test_languages_and_exclude_sources_keep_out_what_they_should(tmp_path: Path) -> None:
    async with FeedServer() as server:
        server.add("/mixed.xml", mixed_feed())
        loaded = load_config(write_config(tmp_path, server.url("/mixed.xml")))
        assert await run(loaded, once=True) == 0
    got = alerted(tmp_path)
    # Portuguese and Spanish only, and not the clickbait outlet's Portuguese item.
    assert got["iberian"] == urls("pt-folha", "es-pais")
    # Every language, but neither excluded domain.
    assert got["not-the-wire"] == urls("pt-folha", "es-pais", "pt-spam")
    assert got["only-folha"] == urls("pt-folha")


def test_match_explains_the_filters(tmp_path: Path) -> None:
    feed = tmp_path / "mixed.xml"
    feed.write_text(mixed_feed(), encoding="utf-8")
    cfg = write_config(tmp_path, str(feed))
    out = io.StringIO()
    assert run_match(str(cfg), [str(feed)], as_json=True, out=out) == 0
    report = {entry["url"]: {w["watch"]: w for w in entry["watches"]} for entry in json.loads(out.getvalue())}
    english = report[next(iter(urls("en-wire")))]
    assert not english["iberian"]["matched"]
    assert english["iberian"]["failed_clause"] == "languages: [es, pt]; exclude_sources: [clickbait.example]"
    assert english["iberian"]["reason"] == "languages: the item is in 'en', not es, pt"
    spam = report[next(iter(urls("pt-spam")))]
    assert spam["iberian"]["reason"] == "exclude_sources: the item is from a link on clickbait.example"
    assert spam["not-the-wire"]["matched"]
    german = report[next(iter(urls("de-blatt")))]
    assert german["only-folha"]["reason"].startswith("sources: feed ")
    assert report[next(iter(urls("pt-folha")))]["iberian"]["matched"]


async def test_why_names_the_filter_that_kept_an_item_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FeedServer() as server:
        server.add("/mixed.xml", mixed_feed())
        cfg = write_config(tmp_path, server.url("/mixed.xml"))
        assert await run(load_config(cfg), once=True) == 0
    capsys.readouterr()
    spam = next(iter(urls("pt-spam")))
    assert await asyncio.to_thread(main, ["why", "-c", str(cfg), spam]) == 0
    out = capsys.readouterr().out
    assert '"not-the-wire"' not in out.split("do not match")[-1]  # it matched that watch
    assert '"iberian": failed languages: [es, pt]; exclude_sources: [clickbait.example]' in out
    assert "(exclude_sources: the item is from a link on clickbait.example)" in out

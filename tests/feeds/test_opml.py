"""OPML import: reader exports in, a ``feeds:`` block the config loader accepts out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newswatch.config import load_config
from newswatch.feeds.opml import OpmlError, opml_to_feeds_yaml, read_opml, run_import_opml

EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My  subscriptions
  in Reader</title></head>
  <body>
    <outline text="Unfiled wire" type="rss" xmlUrl="https://wire.example.com/rss" htmlUrl="https://wire.example.com/"/>
    <outline text="News" title="News">
      <outline text="World">
        <outline type="rss" text="Tehran World" title="Tehran World – Middle East"
                 xmlUrl="https://www.tehranworld.example/en/rss/middle-east.xml" htmlUrl="https://www.tehranworld.example/"/>
        <outline type="rss" text="Radio Caribe: World # edition"
                 xmlUrl="https://www.radiocaribe.example/en/feed/?cat=world&amp;lang=en"/>
      </outline>
      <outline type="rss" text="Gulf Review" xmlUrl="https://gulfreview.example/atom.xml"/>
    </outline>
    <outline text="Music">
      <outline text="yes" xmlUrl="HTTPS://Music.Example/feed#top"/>
      <outline text="Duplicate of the wire" xmlUrl="https://WIRE.example.com/rss"/>
      <outline text="Duplicate, case differs in host" xmlUrl="https://music.example/feed"/>
      <outline xmlUrl="feed://old.example/rss"/>
      <outline text="Podcast file" xmlUrl="file:///etc/passwd"/>
      <outline text="Env trap ${HOME}" xmlUrl="https://trap.example/rss"/>
    </outline>
    <outline text="Empty folder"/>
  </body>
</opml>
"""


def test_export_becomes_a_feeds_block() -> None:
    out = opml_to_feeds_yaml(EXPORT.encode())
    assert out == (
        "# Imported from OPML: My subscriptions in Reader (7 feeds)\n"
        "feeds:\n"
        "  - url: https://wire.example.com/rss\n"
        "    name: Unfiled wire\n"
        "  # News / World\n"
        "  - url: https://www.tehranworld.example/en/rss/middle-east.xml\n"
        "    name: Tehran World – Middle East\n"
        "  - url: https://www.radiocaribe.example/en/feed/?cat=world&lang=en\n"
        '    name: "Radio Caribe: World # edition"\n'
        "  # News\n"
        "  - url: https://gulfreview.example/atom.xml\n"
        "    name: Gulf Review\n"
        "  # Music\n"
        "  - url: HTTPS://Music.Example/feed#top\n"
        '    name: "yes"\n'
        "  - url: http://old.example/rss\n"
        "  - url: https://trap.example/rss\n"
        "    name: Env trap $ {HOME}\n"
        "# skipped, not an http(s) feed URL: file:///etc/passwd\n"
    )


def test_output_is_yaml_the_config_loader_accepts(tmp_path: Path) -> None:
    out = opml_to_feeds_yaml(EXPORT.encode())
    feeds = yaml.safe_load(out)["feeds"]
    assert [f.get("name") for f in feeds][:4] == [
        "Unfiled wire",
        "Tehran World – Middle East",
        "Radio Caribe: World # edition",
        "Gulf Review",
    ]
    assert feeds[4]["name"] == "yes"  # quoted, so not the boolean True
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(out + "watches: []\n", encoding="utf-8")
    loaded = load_config(cfg, environ={})
    assert len(loaded.config.feeds) == 7
    assert loaded.config.feeds[-1].name == "Env trap $ {HOME}"


def test_title_falls_back_to_text_and_feeds_nested_under_feeds_are_kept() -> None:
    doc = b"""<opml version="1.0"><body>
      <outline text="Only text" xmlUrl="https://a.example/rss">
        <outline title="Child" xmlUrl="https://b.example/rss"/>
      </outline>
      <outline xmlurl="https://c.example/rss" TITLE="Lower-case attribute names"/>
    </body></opml>"""
    _, feeds, skipped = read_opml(doc)
    assert [(f.url, f.name) for f in feeds] == [
        ("https://a.example/rss", "Only text"),
        ("https://b.example/rss", "Child"),
        ("https://c.example/rss", "Lower-case attribute names"),
    ]
    assert not skipped


def test_empty_export_is_an_empty_list() -> None:
    out = opml_to_feeds_yaml(b"<opml><head/><body/></opml>")
    assert yaml.safe_load(out) == {"feeds": []}


def test_utf16_export() -> None:
    doc = EXPORT.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert opml_to_feeds_yaml(doc) == opml_to_feeds_yaml(EXPORT.encode())


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b"<opml><body><outline text='x'></body></opml>", "malformed XML"),
        (b"<opml><body>", "malformed XML"),
        (b"not xml at all", "malformed XML"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
            "not an OPML document (root element <rss>)",
        ),
        (b"<opml><head/></opml>", "not an OPML document (no <body>)"),
        (
            b'<?xml version="1.0" encoding="no-such-charset"?><opml><body/></opml>',
            "malformed XML",
        ),
    ],
)
def test_malformed_input_is_a_clear_error(doc: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        opml_to_feeds_yaml(doc)
    assert "\n" not in str(info.value)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<opml><body><outline text="&e;" xmlUrl="https://a.example/rss"/></body></opml>"""


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(OpmlError, match="entity declarations are not allowed"):
        opml_to_feeds_yaml(BILLION_LAUGHS)


def test_xxe_is_refused_in_any_encoding(secret_file: Path) -> None:
    doc = f"""<?xml version="1.0" encoding="UTF-16"?>
<!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret_file}">]>
<opml><body><outline text="&x;" xmlUrl="https://a.example/rss"/></body></opml>"""
    for data in (doc.replace("UTF-16", "UTF-8").encode(), doc.encode("utf-16")):
        with pytest.raises(OpmlError, match="entity declarations"):
            opml_to_feeds_yaml(data)


def test_external_dtd_is_not_loaded(secret_file: Path) -> None:
    dtd = secret_file.with_suffix(".dtd")
    dtd.write_text(f'<!ENTITY x SYSTEM "file://{secret_file}">')
    doc = f"""<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file://{dtd}">
<opml><body><outline text="&x;" xmlUrl="https://a.example/rss"/></body></opml>"""
    try:
        out = opml_to_feeds_yaml(doc.encode())
    except OpmlError:
        return  # refusing is fine too
    assert "TOP-SECRET" not in out


# --------------------------------------------------------------------------------------------------------------
# The command


def test_run_import_opml_prints_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "export.opml"
    path.write_text(EXPORT, encoding="utf-8")
    assert run_import_opml(str(path)) == 0
    out, err = capsys.readouterr()
    assert out == opml_to_feeds_yaml(EXPORT.encode()) and err == ""


def test_run_import_opml_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.opml"
    path.write_bytes(b"<opml><body>")
    assert run_import_opml(str(path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"newswatch: {path}: malformed XML") and err.count("\n") == 1


def test_run_import_opml_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_import_opml(str(tmp_path / "nope.opml")) == 2
    out, err = capsys.readouterr()
    assert out == "" and "cannot read" in err and "No such file" in err


def test_run_import_opml_reads_stdin() -> None:
    code = "import sys; from newswatch.feeds.opml import run_import_opml; sys.exit(run_import_opml('-'))"
    proc = subprocess.run(
        [sys.executable, "-c", code], input=EXPORT.encode(), capture_output=True, check=False, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.decode() == opml_to_feeds_yaml(EXPORT.encode())

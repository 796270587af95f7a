"""Whether two runs made the same story decisions: the (url, event, story) sets of two JSONL record files.

    python benchmarks/compare_records.py BEFORE.jsonl AFTER.jsonl    # e.g. from bench_poll.py --save-records

A story id hashes the id of the item that opened it, which holds the feed's URL (the benchmark's server takes a
new port each run), so a story is named here by the url of the alert that opened it.  Exit status 1 when the
sets differ.
"""

from __future__ import annotations

import json
import sys


def load(path: str) -> set[tuple[str, str, str]]:
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    opener = {r["story"]: r["url"] for r in records if r.get("event") == "alert"}
    return {
        (str(r.get("url")), str(r.get("event")), str(opener.get(r.get("story"), r.get("story"))))
        for r in records
    }


def main() -> None:
    a, b = load(sys.argv[1]), load(sys.argv[2])
    print(
        f"{sys.argv[1]}: {len(a)} records; {sys.argv[2]}: {len(b)}; identical (url, event, story): {a == b}; "
        f"only in the first {len(a - b)}, only in the second {len(b - a)}"
    )
    sys.exit(0 if a == b else 1)


if __name__ == "__main__":
    main()

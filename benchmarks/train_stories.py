"""Refit the story model's shipped weights (src/newswatch/stories/weights.json), reproducibly.

    pip install -e '.[train]'
    PYTHONPATH=src python benchmarks/train_stories.py [--data ../shared/data] [--out PATH]

The same choice eval_stories.py makes in each of its folds (storycv.py), made on every kind of data at once:
sign-constrained logistic weights fitted on the (item, member) pairs of an oracle replay of every corpus, the
content floor and the join threshold by the precision-first rule, the "possibly related" threshold where pairs
become more often the same event than not.  Applying the weights needs only the standard library.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from newswatch.stories import default_model
from storycv import MIN_PRECISION, choose
from storydata import SHARED, load_all
from storysim import sketches

OUT = Path(__file__).resolve().parents[1] / "src" / "newswatch" / "stories" / "weights.json"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED / "data")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    base = default_model()
    corpora = load_all(data=args.data)
    sks = {c.name: sketches(c.items, base.params) for c in corpora}
    choice = choose(corpora, sks, base, progress=print)
    meta = {
        "fitted_on": sorted(c.name for c in corpora),
        "rule": f"best mean F1 with every kind at B-cubed precision >= {MIN_PRECISION} (benchmarks/storycv.py)",
        "floor": choice.floor,
        "in_sample": {k: [round(v, 4) for v in s] for k, s in choice.kind_scores.items()},
    }
    model = replace(choice.model, meta=meta)
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: threshold {model.threshold}, related {model.related}, floor {choice.floor}")
    for k, s in choice.kind_scores.items():
        print(f"  in sample, {k}: P {s[0]:.3f} R {s[1]:.3f} F1 {s[2]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The spotting acceptance evaluation on synthetic long videos: per-type precision, recall and F1 (MEGC
metric, p by leave-one-subject-out) and the share of blinks inside a spotted interval.

    .venv/bin/python bench/spot_eval.py --layout cas2 --seed 11 [--subjects 12 --videos 3 --seconds 20
                                        --width 640 --height 480] [--out DIR]
    .venv/bin/python bench/spot_eval.py --result spot.json --events DIR/synth-events.json   # summarise a run

The first form writes ``mpt synth --layout LAYOUT`` data into ``--out`` (reused when it is there) and runs
``mpt spot --dataset LAYOUT --root DIR --eval`` on it through the library function the CLI calls; the
second reads what ``mpt spot --dataset ... --eval --json`` printed. Blinks are not in the MEGC table:
they come from the generator's ``synth-events.json``; a blink counts as spotted when its apex (the
lids closed) lies inside a spotted interval of its video.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]


def blinks_inside(result: dict, events: list[dict]) -> tuple[int, int]:
    spotted = {(v["subject"], v["video"]): v["intervals"] for v in result["videos"]}
    inside = total = 0
    for video in events:
        intervals = spotted.get((video["subject"], video["video"]), [])
        for e in video["events"]:
            if e["kind"] == "blink":
                total += 1
                inside += any(i["onset"] <= e["apex"] <= i["offset"] for i in intervals)
    return inside, total


def summarise(result: dict, events: list[dict], title: str) -> None:
    ev = result["evaluation"]
    inside, total = blinks_inside(result, events)
    print(title)
    print(f"{'':8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} {'F1':>6}")
    for kind in ("micro", "macro", "overall"):
        c = ev[kind]
        print(f"{kind:8} {c['tp']:4d} {c['fp']:4d} {c['fn']:4d} {c['precision']:9.3f} {c['recall']:7.3f} "
              f"{c['f1']:6.3f}")
    ps = sorted({f["p"] for f in result["folds"].values()})
    print(f"blinks inside a spotted interval: {inside} of {total} ({100 * inside / max(total, 1):.1f} %); "
          f"p chosen per fold: {', '.join(f'{p:g}' for p in ps)}; tracker: {result['videos'][0]['tracker']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--result", type=Path, help="a saved `mpt spot --dataset ... --eval --json` object")
    ap.add_argument("--events", type=Path, help="with --result: the data's synth-events.json")
    ap.add_argument("--layout", default="cas2", choices=("cas2", "samm-lv"))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--subjects", type=int, default=12)
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--out", type=Path, help="where the synthetic data goes (default: a temporary folder)")
    args = ap.parse_args()
    if args.result is not None:
        if args.events is None:
            ap.error("--result needs --events")
        summarise(json.loads(args.result.read_text()), json.loads(args.events.read_text()), str(args.result))
        return
    from mpt.spot.run import spot_dataset
    from preprocess.synth.longvideo import generate_long_videos

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "data"
        generate_long_videos(out, layout=args.layout, subjects=args.subjects, videos_per_subject=args.videos,
                             seconds=args.seconds, seed=args.seed, width=args.width, height=args.height)
        result = spot_dataset(args.layout, out, None, with_eval=True)
        summarise(result, json.loads((out / "synth-events.json").read_text()),
                  f"{args.layout}, seed {args.seed}: {args.subjects} subjects x {args.videos} videos, "
                  f"{args.seconds:g} s mean, {args.width}x{args.height}")


if __name__ == "__main__":
    main()

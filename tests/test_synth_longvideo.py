"""Synthetic long videos: the same seed gives the same bytes (serially or in parallel), the tables read back
through the real readers with nothing skipped, and they agree with the generator's own event list."""

import hashlib
import json

import pytest

from preprocess.readers import read_dataset, read_long_videos
from preprocess.synth.longvideo import generate_long_videos, plan_videos

SMALL = dict(subjects=2, videos_per_subject=1, seconds=3.0, width=160, height=120, progress=False)


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_serial_and_parallel_other_seed_other_bytes(tmp_path):
    generate_long_videos(tmp_path / "a", layout="samm-lv", seed=5, jobs=1, **SMALL)
    generate_long_videos(tmp_path / "b", layout="samm-lv", seed=5, jobs=2, **SMALL)
    generate_long_videos(tmp_path / "c", layout="samm-lv", seed=6, jobs=1, **SMALL)
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b and sum(k.endswith(".jpg") for k in a) >= 2 * 3 * 200
    assert a["SAMMLV_gt_synth.xlsx"] != c["SAMMLV_gt_synth.xlsx"]
    assert not any(a[k] == c[k] for k in set(a) & set(c) if k.endswith(".jpg"))


@pytest.mark.parametrize("layout, fps, folder", [("cas2", 30, "rawpic/s15/15_0101synthetic/img1.jpg"),
                                                 ("samm-lv", 200, "SAMM_longvideos/006_1/006_1_0001.jpg")])
def test_tables_read_back_and_match_the_events(tmp_path, layout, fps, folder):
    table = generate_long_videos(tmp_path, layout=layout, seed=2, jobs=1, **SMALL)
    assert (tmp_path / folder).is_file()
    index = read_long_videos(layout, tmp_path, table, strict=True)
    events = json.loads((tmp_path / "synth-events.json").read_text())
    assert index.changed == [] and index.skipped == []
    for v, planned in zip(index.videos, events):
        assert (v.subject, v.video, v.fps, len(v.frames)) == (planned["subject"], planned["video"], fps,
                                                               planned["frames"])
        want = sorted((e["onset"], e["apex"], e["offset"], e["kind"]) for e in planned["events"]
                      if e["kind"] in ("micro", "macro"))
        assert sorted((i.onset, i.apex, i.offset, i.type) for i in v.intervals) == want
        assert all((i.emotion or i.objective) for i in v.intervals if i.type == "micro")
    clips = read_dataset(layout, tmp_path, table, strict=True)  # the micro-expressions, as clips
    micro = [e for v in events for e in v["events"] if e["kind"] == "micro"]
    # cas2's default classes are all four objective classes; samm-lv's five leave disgust, fear, sadness out
    kept = [e for e in micro if layout == "cas2" or e["emotion"] not in ("Disgust", "Fear", "Sadness")]
    assert clips.whole_frames and len(clips.clips) == len(kept) and clips.skipped == []


def test_every_video_has_blinks_expressions_and_nothing_overlaps():
    for plan in plan_videos("cas2", 3, 3, 40.0, 9):
        kinds = [e.kind for e in plan.events]
        assert kinds.count("macro") >= 1 and kinds.count("micro") >= 1 and kinds.count("blink") >= 3
        spans = sorted((e.onset, e.offset) for e in plan.events)
        assert all(b[0] > a[1] for a, b in zip(spans, spans[1:]))  # non-overlapping
        assert 20 * 30 <= plan.frames <= 60 * 30
        for e in plan.events:
            length = (e.offset - e.onset + 1) / 30
            bounds = {"micro": (0.2, 0.5), "macro": (0.5, 3.0), "blink": (0.1, 0.3), "turn": (0.5, 1.5)}[e.kind]
            assert bounds[0] - 0.05 <= length <= bounds[1] + 0.05, (e, length)

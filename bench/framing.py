"""Issue 25: train on a corpus's tight crops, apply `mpt predict` to raw whole frames of the same clips.

    .venv/bin/python bench/framing.py [--subjects 4] [--clips 6] [--epochs 20] [--seed 0] [--out DIR] [--figure PNG]

Data: ``preprocess.synth.framing.generate_framing_pair``: every clip rendered as CASME II-style crops
(1.8 x the inter-ocular distance wide, eyes at 28 % of the height, 230 x 280 px) and as 640 x 480 whole
frames (the face rolled 4-9 degrees, off-centre, smaller, with hair and backdrop). A cache of the crops at
the demo's settings (64 px, alpha 60), a LOSO run with a random ViT-Ti (depth 1, fp32, CPU). Then each
clip's whole frames through ``mpt.inference.predict`` with its fold's model, in the run's recorded
framing and (the baseline: how mpt applied a crop-trained run before) in mpt's canonical framing.

Printed: class agreement with the fold records, |p_predict - p_fold| (mean and max over clips and
classes), and the landmark offset between predict's crop and the training crop (points 17-67; the jaw
0-16 apart, as a tight crop cuts it; px at 224:
points fitted on the training crop squeezed to 224 vs the raw frame's points mapped through predict's
transform), and the same for describe's 18 regions (centre offsets, px at 224).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

import numpy as np  # noqa: E402


def world(out: Path, *, subjects: int, clips: int, epochs: int, size: int = 64, seed: int = 0, jobs: int = 1):
    """(coding file, whole-frame folder, cache, run) for the pair at the demo's settings."""
    import torch
    from safetensors.torch import save_file

    from mpt_core.clip import PreprocessSettings
    from mpt_core.compat import import_timm
    from mpt_core.model import ModelSettings
    from preprocess.pipeline import build_cache
    from preprocess.synth.framing import generate_framing_pair
    from train.loop import run_loso
    from train.settings import TrainSettings

    coding, whole = generate_framing_pair(out / "data", subjects=subjects, clips_per_subject=clips, seed=seed,
                                          jobs=jobs)
    cache = build_cache("casme2", coding.parent, coding, settings=PreprocessSettings(size=size, alpha=60.0),
                        cache_dir=out / "cache", jobs=jobs, progress=False)
    torch.manual_seed(3)
    vit = import_timm().create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, img_size=size, depth=1)
    weights = out / "vit.safetensors"
    save_file(dict(vit.state_dict()), str(weights))
    run = out / "run"
    if not (run / "folds").is_dir() or len(list((run / "folds").glob("*.json"))) < subjects:
        run = run_loso(cache, train_settings=TrainSettings(epochs=epochs, batch_size=8, lr=3e-3, device="cpu",
                                                           precision="fp32", seed=seed),
                       model_settings=ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=size,
                                                    motion_size=16),
                       out=run, weights=weights, progress=False)
    return coding, whole, cache, run


def compare(run: Path, whole: Path, framing: str | None = None) -> dict:
    """Each clip's whole frames predicted with its fold's model vs the fold records."""
    from mpt.inference import predict
    from train.runs import RunFolder

    records = RunFolder(run).fold_records()
    agree, diffs, rows = 0, [], []
    for rec in records:
        subject = rec["subject"] if "subject" in rec else rec["test_subjects"][0]
        inputs = [whole / subject / clip for clip in rec["clips"]]
        with contextlib.redirect_stderr(io.StringIO()):
            result = predict(inputs, run, model=subject, fps=200, device="cpu", framing=framing, spot="off")
        for clip, probs, pred in zip(result["clips"], rec["probabilities"], rec["predictions"]):
            p = np.array(list(clip["probabilities"].values()))
            agree += int(np.argmax(p) == int(pred))
            diffs.append(np.abs(p - np.array(probs)))
            rows.append((clip["input"], int(pred), int(np.argmax(p))))
    d = np.array(diffs)
    return {"clips": len(d), "agree": agree, "mean_dp": float(d.mean()), "max_dp": float(d.max()),
            "median_clip_max_dp": float(np.median(d.max(axis=1)))}


def region_centres(points) -> np.ndarray:
    """(18, 2) centres of describe's regions placed from 68 points (``mpt_core.regions.LANDMARK_REGIONS``),
    not clipped to the frame (a tight crop cuts the chin region off: its centre lies below the crop)."""
    from mpt_core.regions import LANDMARK_REGIONS, PAIRED, eye_frame, landmark_eyes, mirror_68

    _, _, v, d = eye_frame(landmark_eyes(points))
    out = []
    for stem, (weights, _, down) in LANDMARK_REGIONS.items():
        for index in ((lambda i: i), mirror_68) if stem in PAIRED else ((lambda i: i),):
            out.append(sum(wt * points[index(i)] for i, wt in weights.items()) + down * d * v)
    return np.array(out)


def landmark_offsets(coding: Path, whole: Path, framing) -> dict:
    """Per clip: the 68 points on the training crop (its onset frame squeezed to 224, fitted as the
    cache fits crops) vs the raw onset frame's points through predict's transform (at 224); and the
    centres of describe's 18 regions placed from each."""
    import cv2

    from preprocess.face.align import locate_face
    from preprocess.face.framing import fit_crop

    points_px, regions_px = [], []
    for clip in sorted((coding.parent / "Cropped").glob("*/*")):
        raw = sorted((whole / clip.parent.name / clip.name).glob("*.jpg"), key=lambda p: int(p.stem))[0]
        onset = int(raw.stem)
        crop = cv2.imread(str(clip / f"reg_img{onset}.jpg"))[..., ::-1]
        h, w = crop.shape[:2]  # fitted at the crop's own size (as the cache measures), then squeezed to 224
        trained = (fit_crop(crop).points + 0.5) * (224 / w, 224 / h) - 0.5
        frame = np.ascontiguousarray(cv2.imread(str(raw))[..., ::-1])
        t = locate_face(frame, framing=framing)
        applied = t.landmarks_in_crop(224)
        points_px.append(np.hypot(*(applied - trained).T))
        centres = [region_centres(p) for p in (trained, applied)]
        regions_px.append(np.hypot(*(centres[1] - centres[0]).T))
    pts, reg = np.array(points_px), np.array(regions_px)
    return {"clips": len(pts), "points_mean": float(pts[:, 17:].mean()),
            "points_p95": float(np.percentile(pts[:, 17:], 95)), "jaw_mean": float(pts[:, :17].mean()),
            "eyes_mean": float(pts[:, 36:48].mean()), "regions_mean": float(reg.mean()),
            "regions_max": float(reg.max())}


def figure(coding: Path, whole: Path, framing, path: Path) -> None:
    """The framing in one picture: a corpus crop, the raw frame of the same clip (the crop the run's
    framing cuts drawn on it), mpt's crop of it at its own size, and the canonical crop (before)."""
    import cv2

    from mpt_core.framing import CANONICAL
    from preprocess.face.align import locate_face
    from preprocess.face.transform import warp_face

    clip = sorted((coding.parent / "Cropped").glob("*/*"))[0]
    raw = min((whole / clip.parent.name / clip.name).glob("*.jpg"), key=lambda p: int(p.stem))
    crop = cv2.imread(str(clip / f"reg_img{raw.stem}.jpg"))
    frame = cv2.imread(str(raw))
    h = crop.shape[0]  # every panel at the corpus crop's height
    t = locate_face(np.ascontiguousarray(frame[..., ::-1]), framing=framing)
    w_native = round(h * framing.aspect)
    ours = cv2.resize(warp_face(frame, np.asarray(t.matrix), h), (w_native, h), interpolation=cv2.INTER_AREA)
    canonical = warp_face(frame, np.asarray(locate_face(np.ascontiguousarray(frame[..., ::-1])).matrix), h)
    from preprocess.face.geometry import invert, transform_points

    marked = frame.copy()
    for m, colour in ((np.asarray(t.matrix), (0, 200, 255)), (np.asarray(locate_face(
            np.ascontiguousarray(frame[..., ::-1]), framing=CANONICAL).matrix), (255, 120, 0))):
        corners = transform_points(invert(m), [(0, 0), (1, 0), (1, 1), (0, 1)])
        cv2.polylines(marked, [np.round(corners).astype(np.int32)], True, colour, 2, cv2.LINE_AA)
    scale = h / frame.shape[0]
    marked = cv2.resize(marked, (round(frame.shape[1] * scale), h), interpolation=cv2.INTER_AREA)
    panels = [("corpus crop (training)", crop), ("raw frame", marked), ("mpt's crop, run framing", ours),
              ("canonical crop (before)", canonical)]
    gap = np.full((h + 26, 10, 3), 255, np.uint8)
    row = []
    for title, img in panels:
        tile = np.full((h + 26, img.shape[1], 3), 255, np.uint8)
        tile[26:] = img
        cv2.putText(tile, title, (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        row += [tile, gap]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(row[:-1], axis=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=4)
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("/tmp/mpt-framing"))
    ap.add_argument("--seed", type=int, default=0, help="data and training seed")
    ap.add_argument("--figure", type=Path, help="also draw the framing figure (PNG) here")
    args = ap.parse_args()
    import os

    from mpt.rawclip import run_framing
    from train.runs import RunFolder

    t0 = time.perf_counter()
    coding, whole, cache, run = world(args.out, subjects=args.subjects, clips=args.clips, epochs=args.epochs,
                                     seed=args.seed)
    framing = run_framing(RunFolder(run).config(), run)[0]
    print(f"data, cache and run in {time.perf_counter() - t0:.0f} s; load {os.getloadavg()[0]:.1f}")
    print(f"run framing: {framing.describe()}")
    if args.figure:
        figure(coding, whole, framing, args.figure)
        print(f"figure: {args.figure}")
    for name, value in (("run's framing", None), ("canonical (before)", "canonical")):
        r = compare(run, whole, value)
        print(f"{name:>20}: agreement {r['agree']}/{r['clips']} ({100 * r['agree'] / r['clips']:.0f} %), "
              f"|dp| mean {r['mean_dp']:.4f}, max {r['max_dp']:.4f}, median per-clip max {r['median_clip_max_dp']:.4f}")
    from mpt_core.framing import CANONICAL

    for name, f in (("run's framing", framing), ("canonical (before)", CANONICAL)):
        r = landmark_offsets(coding, whole, f)
        print(f"{name:>20}: landmarks 17-67 {r['points_mean']:.2f} px mean (95th pct {r['points_p95']:.2f}, eyes "
              f"{r['eyes_mean']:.2f}; jaw {r['jaw_mean']:.2f}), describe's region centres "
              f"{r['regions_mean']:.2f} px mean "
              f"(max {r['regions_max']:.2f}), {r['clips']} clips, px at 224")


if __name__ == "__main__":
    main()

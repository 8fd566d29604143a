"""``mpt predict``: apply a trained run to a user's raw clip (a video file or a folder of frames).

raw frames (onset..offset) -> face crop (one transform from the onset frame's landmarks, the face
checked in every later frame; per-frame stabilisation with --track) ->
``clip_arrays`` with the run's own cache settings -> the run's model(s), in the run's precision ->
class probabilities.

Why the run's cache settings and ``clip_arrays``: the model only ever saw arrays made by that
function with those settings, so a clip predicted from its raw frames gets bit-identical arrays
(and the same probabilities) as it had in the cache the run was trained and evaluated on.

Models: ``final`` (trained on every clip; the default when the run has it), ``ensemble`` (the mean
of the fold models' probabilities; the default otherwise), or one fold's model by its held-out
subject. The fold models differ only in their small trainable weights, so the ensemble builds ONE
model (one frozen backbone) and swaps the trainable weights of each fold into it.

Every expected failure raises a ValueError subclass with one line: what, where, why.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from .rawclip import add_time, align_face, choose_framing, face_options, warn

FINAL, ENSEMBLE = "final", "ensemble"
AU_THRESHOLD = 0.5  # train.au.THRESHOLD: an AU run's clip shows the AUs whose probability reaches it


class PredictError(ValueError):
    """A run folder, model choice, device or option that cannot be used; the message says which."""


# classes


@dataclass(eq=False)
class RunModels:
    """The model(s) of one run, loaded once per ``predict`` call and applied to every input."""

    run: Path
    name: str  # "final", "ensemble" or a subject
    classes: tuple[str, ...]
    settings: object  # mpt_core.clip.PreprocessSettings: the run's cache settings
    precision: str  # the run's ("fp32" or "bf16")
    device: object  # torch.device
    model: object  # MPTModel; the ensemble swaps each member's trainable weights into it
    members: dict = field(default_factory=dict)  # member name -> trainable weights on the device
    multilabel: bool = False  # an AU detection run: one sigmoid probability per AU, not a softmax
    face: dict = field(default_factory=dict)  # config.json's "face": how the run's cache made its faces
    framing: object = None  # mpt_core.framing.Framing raw faces are cut in (the run's, unless --framing says)
    framing_line: str = ""  # one line saying which framing, and why
    framing_assumed: bool = False  # an older run without a recorded framing: canonical assumed

    def probabilities(self, rank: np.ndarray, motion: np.ndarray) -> np.ndarray:
        """rank (S, S, 3), motion (T, S, S, 3) as clip_arrays returns them -> (C,) float64;
        the mean over the members for an ensemble."""
        import torch

        from train.step import predict as model_probs

        image = torch.from_numpy(rank).permute(2, 0, 1)[None].to(self.device)  # (1, 3, S, S), as the cache's batches
        frames = torch.from_numpy(motion).permute(0, 3, 1, 2)[None].to(self.device)  # (1, T, 3, S, S)
        probs = []
        for weights in self.members.values():
            if len(self.members) > 1:
                self.model.load_state_dict(weights, strict=False)  # only trainable keys: checked on load
            probs.append(model_probs(self.model, image, frames, self.precision,
                                     self.multilabel)[0].double().cpu().numpy())  # (C,)
        return np.mean(probs, axis=0)


# helpers


def _device(name: str):
    from mpt_core.device import resolve_device

    return resolve_device(name)


def _choose(run, model: str | None, fold_files: dict, has_final: bool) -> str:
    where = run.path
    if not fold_files and not has_final:
        raise PredictError(f"{where}: no trained models (no finished folds in folds/ and no final.safetensors); "
                           "train the run first (`mpt train`)")
    if model is None:
        return FINAL if has_final else ENSEMBLE
    if model == FINAL and not has_final:
        raise PredictError(f"{where}: no final model (final.safetensors; train with --final); "
                           "use --model ensemble or a fold's subject")
    if model == ENSEMBLE and not fold_files:
        raise PredictError(f"{where}: no fold models to average (folds/*.safetensors); use --model final")
    if model not in (FINAL, ENSEMBLE) and model not in fold_files:
        known = ", ".join(sorted(fold_files)) or "none"
        raise PredictError(f"{where}: --model {model!r} is not final, ensemble or a fold's subject "
                           f"(subjects: {known})")
    return model


def _member_weights(path: Path, first_header: dict, trainable: set, device) -> dict:
    """The trainable weights of one more fold file, checked to fit the model built for the first."""
    from mpt_core.model.checkpoint import FORMAT, CheckpointError, read_checkpoint_file

    tensors, header = read_checkpoint_file(path)
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an mpt checkpoint (format {FORMAT!r} expected)")
    if header.get("settings") != first_header.get("settings"):
        raise CheckpointError(f"{path}: model settings differ from the run's other fold models")
    sha = (header.get("backbone_weights") or {}).get("sha256")
    if sha != (first_header.get("backbone_weights") or {}).get("sha256"):
        raise CheckpointError(f"{path}: trained on other backbone weights than the run's other fold models")
    if set(tensors) != trainable:
        raise CheckpointError(f"{path}: keys are not the model's trainable weights")
    return {k: v.to(device) for k, v in tensors.items()}


def load_run_models(run, *, model: str | None = None, weights=None, device: str = "auto",
                    framing: str | None = None) -> RunModels:
    """The chosen model(s) of the run folder ``run``, on ``device``, ready for ``probabilities``.

    ``weights`` overrides the backbone weights file recorded in the run (its sha256 must match).
    ``framing``: how raw faces are cut (``rawclip.choose_framing``; default: as the run's cache).
    """
    from mpt_core.clip import PreprocessSettings
    from mpt_core.model import load_checkpoint
    from mpt_core.model.checkpoint import read_checkpoint_file
    from train.runs import RunFolder
    from train.step import resolve_precision

    folder = RunFolder(run)
    if not folder.config_path.is_file():
        raise PredictError(f"{folder.path}: not a run folder (no config.json); pass the folder `mpt train` wrote")
    config = folder.config()
    try:
        settings = PreprocessSettings.from_dict(config["cache_settings"])
        classes = tuple(config["classes"])
        precision = config["train"]["precision"]
    except (KeyError, TypeError) as err:
        raise PredictError(f"{folder.config_path}: incomplete run config (missing {err})") from None
    if weights is not None and not Path(weights).is_file():
        raise PredictError(f"{weights}: backbone weights file not found")
    dev = _device(device)
    fold_files = folder.fold_weight_files()
    final_file = folder.weights_path(FINAL)
    name = _choose(folder, model, fold_files, final_file.is_file())
    files = {FINAL: final_file} if name == FINAL else fold_files if name == ENSEMBLE else {name: fold_files[name]}
    for member, path in files.items():
        if not path.is_file():
            raise PredictError(f"{path}: the weights of {'the final model' if member == FINAL else 'fold ' + member} "
                               "are missing (the fold's record exists); retrain that fold")
    paths = list(files.values())
    net, _ = load_checkpoint(paths[0], map_location=dev, weights=weights)
    net.eval()
    if net.settings.num_classes != len(classes):
        raise PredictError(f"{paths[0]}: {net.settings.num_classes} classes, the run's config.json has {len(classes)}")
    # a copy: for an ensemble, the model's own weights are overwritten by each member's in turn
    first = next(iter(files))
    members = {first: {n: p.detach().clone() for n, p in net.named_parameters() if p.requires_grad}}
    if len(paths) > 1:
        _, first_header = read_checkpoint_file(paths[0])
        for member, path in list(files.items())[1:]:
            members[member] = _member_weights(path, first_header, set(members[first]), dev)
    chosen, line, assumed = choose_framing(framing, config=config, run=folder.path)
    return RunModels(run=folder.path, name=name, classes=classes, settings=settings,
                     precision=resolve_precision(precision, dev), device=dev, model=net, members=members,
                     multilabel=config.get("task") == "au", face=dict(config.get("face") or {}), framing=chosen,
                     framing_line=line, framing_assumed=assumed)


def _display(motion: np.ndarray) -> np.ndarray:
    """uint8 motion frames as they are; the float16 band signal scaled symmetrically about grey."""
    if motion.dtype == np.uint8:
        return motion
    m = motion.astype(np.float32)
    peak = float(np.abs(m).max()) or 1.0
    return np.clip(127.5 + 127.5 * m / peak, 0, 255).astype(np.uint8)


def training_crop(models: RunModels) -> np.ndarray | None:
    """The first normalised frame of one of the run's training clips (a clip of the fold's held-out
    subject for a fold model, else the cache's first), as the model saw it; None when the run's cache
    cannot be read (a warning says so)."""
    import json

    from mpt_core.cache import cache_index, open_cache

    path = json.loads((models.run / "config.json").read_text()).get("cache")
    try:
        with open_cache(path) as f:
            subjects = cache_index(f).subjects
            rows = np.flatnonzero(subjects == models.name)
            first = f["motion"][int(rows[0]) if len(rows) else 0][0]  # (S, S, 3)
    except (OSError, ValueError, TypeError) as err:
        warn(f"--save-crops: no training crop to compare with ({err})")
        return None
    return _display(first[None])[0]


def _compare(framed: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """Predict's framed crop and a training crop side by side, each at 224 (nearest: pixels as the model sees them)."""
    import cv2

    big = [cv2.resize(np.ascontiguousarray(a), (224, 224), interpolation=cv2.INTER_NEAREST) for a in (framed, trained)]
    gap = np.full((224, 8, 3), 255, np.uint8)
    return np.concatenate([big[0], gap, big[1]], axis=1)


def _save_crops(out: Path, stem: str, onset_crop: np.ndarray, arrays: dict, trained: np.ndarray | None = None
                ) -> list[str]:
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    strip = np.concatenate(list(_display(arrays["motion"])), axis=1)  # (S, T * S, 3)
    images = {"onset": onset_crop, "motion": strip, "rank": arrays["rank"]}
    if trained is not None:  # the first normalised frame of both: the same representation, side by side
        images["compare"] = _compare(_display(arrays["motion"][:1])[0], trained)
    written = []
    for kind, rgb in images.items():
        path = out / f"{stem}-{kind}.png"
        if not cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)):
            raise PredictError(f"{path}: cannot write the PNG (is --save-crops a writable folder?)")
        written.append(str(path))
    return written


def run_face_mode(models: RunModels) -> str:
    """The ``--face`` a raw clip gets by default: Haar for a run whose cache was aligned by Haar, else
    landmarks (also for runs on a corpus's own crops: a raw video's face must be found)."""
    return "haar" if models.face.get("mode") == "haar" else "auto"


def predict_clip(models: RunModels, path, *, onset=None, offset=None, fps=None, face: str | None = "auto",
                 landmarks: str = "68", track: bool = False, save_crops=None, crop_name: str | None = None,
                 timings: dict | None = None) -> dict:
    """One input -> its entry of ``predict``'s ``clips`` (face and input warnings go to stderr). The
    face is cut in ``models.framing``; ``face`` None: as the run's cache (``run_face_mode``)."""
    from mpt_core.clip import clip_arrays, resize_frames
    from preprocess.inputs import load_input

    face = face or run_face_mode(models)
    options = face_options(face, landmarks, track, framing=models.framing)
    t0 = time.perf_counter()
    clip = load_input(path, onset=onset, offset=offset, fps=fps)  # frames (N, H, W, 3) uint8 RGB
    for warning in clip.warnings:
        warn(warning)
    t0 = add_time(timings, "decode", t0)
    size = models.settings.size
    box = None
    frames, last = clip.frames, clip.offset
    if face != "none":
        frames, _, box, numbers = align_face(clip, size=size, options=options)
        last = numbers[-1]
    t0 = add_time(timings, "face", t0)
    arrays = clip_arrays(frames, clip.fps, models.settings)  # rank (S, S, 3), motion (T, S, S, 3)
    t0 = add_time(timings, "preprocess", t0)
    probs = models.probabilities(arrays["rank"], arrays["motion"])  # (C,)
    t0 = add_time(timings, "model", t0)
    entry = {
        "input": str(path), "onset": clip.onset, "offset": last, "fps": clip.fps,
        "frames": int(arrays["n_frames"]), "face": box,
        "probabilities": {c: float(p) for c, p in zip(models.classes, probs)},
        "prediction": ([c for c, p in zip(models.classes, probs) if p >= AU_THRESHOLD] if models.multilabel
                       else models.classes[int(np.argmax(probs))]),
    }
    if save_crops is not None:
        onset_crop = frames[0] if face != "none" else resize_frames(frames[:1], size)[0]
        trained = training_crop(models)
        entry["crops"] = _save_crops(Path(save_crops), crop_name or Path(path).stem, onset_crop, arrays, trained)
        add_time(timings, "save", t0)
    return entry


def predict(inputs, run, *, model: str | None = None, onset: int | None = None, offset: int | None = None,
            fps: float | None = None, face: str | None = None, landmarks: str = "68", track: bool = False,
            weights=None, device: str = "auto", save_crops=None, timings: dict | None = None, spot: str = "auto",
            macro: bool = False, progress: bool = False, framing: str | None = None) -> dict:
    """Class probabilities of each input (a video file or a folder of frames) under the run's model(s).

    ``inputs``: one path or a list. ``onset``/``offset``: frame numbers as in the file names (a
    video's 0-based indices), the same for every input; default the whole input. ``fps``: default
    the video's rate; required for a frame folder. ``face``: None (as the run's cache: "haar" for a
    Haar cache, else "auto"), "auto" (find the face and its
    ``landmarks`` ("68" or "5") on the onset frame, crop and level it; the default, for videos and
    frame folders alike), "haar" (the same from Haar's eyes) or "none" (frames already cropped to
    the face). ``track``: stabilise every frame by its own landmarks (head motion). A face that
    is lost part-way trims the clip (a warning names the frame and the clip's ``offset`` says where
    it ended), and a truncated video says how many of its frames could not be decoded. ``model``: None (final if the run has it, else ensemble),
    "final", "ensemble" or a fold's subject. ``save_crops``: a folder for each input's aligned
    onset crop, strip of T motion frames and rank image (PNG), and the first motion frame beside a
    training clip's (``-compare.png``). ``framing``: how the face is cut (``rawclip.choose_framing``;
    default the run's recorded framing; said in the result's ``framing``, and as a warning when an
    older run recorded none and the canonical one is assumed). ``timings`` (if given) accumulates
    seconds per stage: load, decode, face, preprocess, model (and save).

    Returns ``{"run", "model", "members" (the models averaged: one for final or a subject),
    "precision", "device", "classes", "framing" (the framing faces were cut in: the
    ``mpt_core.framing.Framing`` fields + "assumed" + "text"; None with ``face="none"``), "clips": [{"input", "onset",
    "offset", "fps", "frames", "face": {"box": [x, y, w, h], "angle_deg"} or None,
    "probabilities": {class: p}, "prediction"(, "crops")}]}``.

    Long inputs (``mpt.timeline``): without ``onset``/``offset``, an input longer than
    ``timeline.LONG_S`` seconds (``spot="auto"``) or any input (``spot="on"``) is spotted first and
    each spotted micro-expression interval (macro-expressions too with ``macro``) becomes one entry
    of ``clips``, with ``"spot": {"onset", "apex", "offset", "type", "score"}``; the result then also
    has ``"spotted"``: per spotted input, every interval found, the lost frames and the threshold.
    A short input, or one with ``onset``/``offset``, gives exactly what it gave before spotting existed.
    """
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not inputs:
        raise PredictError("no inputs: give one or more video files or frame folders")
    face_options(face or "auto", landmarks, track)  # a bad combination fails before the models load
    t0 = time.perf_counter()
    models = load_run_models(run, model=model, weights=weights, device=device, framing=framing)
    add_time(timings, "load", t0)
    face = face or run_face_mode(models)
    if face != "none" and models.framing_assumed:
        warn(models.framing_line)  # an older run: what is assumed (the run's own framing goes in the result)
    from .timeline import spot_then_classify, wants_spotting

    long = [wants_spotting(path, spot, onset, offset, fps) for path in inputs]  # every input checked first
    names = _crop_names(inputs)
    clips, spotted = [], []
    for path, name, is_long in zip(inputs, names, long):
        options = dict(face=face, landmarks=landmarks, track=track, save_crops=save_crops)
        if is_long:
            classify = partial(predict_clip, models, path, timings=timings, **options)
            entries, summary = spot_then_classify(classify, path, fps=fps, macro=macro, progress=progress,
                                                  timings=timings, crop_name=name)
            clips += entries
            spotted.append(summary)
        else:
            clips.append(predict_clip(models, path, onset=onset, offset=offset, fps=fps, crop_name=name,
                                      timings=timings, **options))
    result = {"run": str(models.run), "model": models.name, "members": list(models.members),
              "precision": models.precision, "device": str(models.device), "classes": list(models.classes),
              "framing": None if face == "none" else {**models.framing.to_dict(), "assumed": models.framing_assumed,
                                                      "text": models.framing_line},
              "task": "au" if models.multilabel else "emotion", "clips": clips}
    if spotted:
        result["spotted"] = spotted
    return result


def _crop_names(inputs) -> list[str]:
    """Each input's file-name stem, numbered where two inputs share one (sub01/EP01, sub02/EP01)."""
    stems = [Path(p).stem or "input" for p in inputs]
    return [s if stems.count(s) == 1 else f"{s}-{i + 1}" for i, s in enumerate(stems)]


def format_table(result: dict) -> str:
    """The human-readable result: what was used, then per input its frames, face and probabilities."""
    model = result["model"]
    if model == ENSEMBLE:
        model += f" (mean of {len(result['members'])} fold models: {', '.join(result['members'])})"
    lines = [f"run {result['run']}: model {model}, {result['precision']} on {result['device']}"]
    if result.get("framing"):
        from mpt_core.framing import Framing

        f = result["framing"]
        shape = Framing.from_dict({k: f[k] for k in Framing().to_dict()})
        lines.append(f"framing: {shape.describe()} (assumed: the run records none)" if f["assumed"] else f["text"])
    width = max(len(c) for c in result["classes"])
    au = result.get("task") == "au"
    for clip in (c for c in result["clips"] if "spot" not in c):
        face = clip["face"]
        where = ("face: none (frames used as they are)" if face is None else
                 f"face box (x, y, w, h) = ({', '.join(map(str, face['box']))}), roll {face['angle_deg']:.1f} deg "
                 f"({face['aligner']})")
        lines += ["", f"{clip['input']}: frames {clip['onset']}..{clip['offset']} ({clip['frames']} frames at "
                  f"{clip['fps']:g} fps), {where}", f"    {'AU' if au else 'class':<{width}}  probability"]
        for c, p in clip["probabilities"].items():
            mark = "*" if (c in clip["prediction"] if au else c == clip["prediction"]) else " "
            lines.append(f"  {mark} {c:<{width}}  {p:11.4f}")
        if au:
            lines.append(f"  AUs present (probability >= {AU_THRESHOLD}): {'+'.join(clip['prediction']) or 'none'}")
        if "crops" in clip:
            lines.append(f"  crops: {', '.join(clip['crops'])}")
    if "spotted" in result:
        from .timeline import format_timeline

        for summary in result["spotted"]:
            mine = [c for c in result["clips"] if "spot" in c and c["input"] == summary["input"]]
            lines += format_timeline(summary, mine, result["classes"])
    return "\n".join(lines)

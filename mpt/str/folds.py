"""A LOSO run's fold models, one per held-out subject, and the face alignment its cache used: what
``mpt str`` classifies each subject's spotted intervals with.

All fold models share one frozen backbone and differ only in their small trainable weights, so the
run is loaded once (``inference.load_run_models(model="ensemble")``) and a subject's weights are
swapped in before its intervals are classified: the model that held subject S out classifies S's
intervals, and no other does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mpt.inference import ENSEMBLE, PredictError, RunModels, load_run_models, predict_clip


class StrInputError(ValueError):
    """A run or corpus ``mpt str`` cannot score; the message says what, where and why."""


# helpers


def face_of_cache(config: dict) -> tuple[dict, str]:
    """(predict_clip's face options, a note) as the run's cache aligned its faces: its identity's
    ``face`` ("landmarks68", "landmarks5", "auto" for Haar, "none", or the tracking settings)."""
    from mpt_core.cache import open_cache

    path = Path(config.get("cache") or "")
    try:
        with open_cache(path) as f:
            import json

            face = json.loads(f.attrs["input"]).get("face") if "input" in f.attrs else None
    except (OSError, ValueError):
        return ({"face": "auto", "landmarks": "68", "track": False},
                f"the run's cache {path} cannot be read: faces aligned from 68 landmarks, as `mpt preprocess` "
                "does for whole-frame corpora by default")
    track = isinstance(face, dict)
    aligner = face.get("aligner") if track else face
    if aligner in ("landmarks68", "landmarks5"):
        options = {"face": "auto", "landmarks": aligner.removeprefix("landmarks"), "track": track}
        return options, f"{aligner}, as the run's cache"
    if aligner == "auto":
        return {"face": "haar", "landmarks": "68", "track": False}, "haar, as the run's cache"
    # a cache of a corpus's own crops: the long video's whole frames are cut in the run's recorded framing
    return ({"face": "auto", "landmarks": "68", "track": False},
            "landmarks68, cut in the run's framing (its cache holds a corpus's own crops)")


# classes


class FoldModels:
    """The fold models of one run; ``classify(subject, ...)`` uses the model that held ``subject`` out."""

    def __init__(self, run: Path, *, device: str = "auto"):
        try:
            self.models: RunModels = load_run_models(run, model=ENSEMBLE, device=device)
        except PredictError as err:
            raise StrInputError(str(err)) from None
        self.weights = dict(self.models.members)  # subject -> trainable weights on the device
        self._loaded: str | None = None

    @property
    def subjects(self) -> list[str]:
        return sorted(self.weights)

    def model_for(self, subject: str | None) -> RunModels:
        """The run's model with the fold of ``subject`` loaded (a one-member RunModels), or with
        ``subject`` None the mean of every fold model (for a subject no fold trained on)."""
        if subject is None and len(self.weights) > 1:
            self._loaded = None  # probabilities() swaps each member's weights in
            return replace(self.models, name="ensemble", members=self.weights)
        subject = subject if subject is not None else self.subjects[0]
        if self._loaded != subject:
            self.models.model.load_state_dict(self.weights[subject], strict=False)  # trainable keys only
            self._loaded = subject
        return replace(self.models, name=subject, members={subject: self.weights[subject]})

    def classify(self, subject: str | None, folder, onset: int, offset: int, fps: float, face: dict) -> dict:
        """predict_clip's entry for frames onset..offset of a long video's frame folder."""
        return predict_clip(self.model_for(subject), folder, onset=onset, offset=offset, fps=fps, **face)

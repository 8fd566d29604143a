"""The run folder: one home for everything ``mpt train`` writes and ``mpt report`` reads.

Layout::

    config.json                  every setting, the cache path and its key (written first)
    folds/<subject>.json         predictions, labels, probabilities, clips, loss curve, timing (= fold done)
    folds/<subject>.safetensors  the fold's trainable weights; its metadata holds the model settings,
                                 subject, fold index, epochs and the backbone weights' path and sha256,
                                 so the file alone rebuilds the model (given the backbone weights)
    folds/<subject>.partial.pt   while a fold trains: trainable weights + Adam state + RNG states after
                                 each epoch (tensors and plain values only: loaded with weights_only=True)
    final.safetensors, final.json   the model trained on every clip (``--final``); never in the metrics
    results.json, summary.md, confusion.png, curves.png   (train/report.py)
    .lock, .lock.owner           held while ``mpt train`` writes the folder

The folder is locked (an OS file lock, released when the process dies) while a run writes it, so a
second ``mpt train`` into the same folder stops at once instead of interleaving files.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from mpt_core.fileio import atomic_write, process_lock, read_json

# Settings that change how fast a run goes but not its numbers: a resumed run may change them.
RESUMABLE_CHANGES = {"device", "memory_budget_gb", "chunk_clips", "prefetch", "fold_batch", "eval_batch_size"}
FINAL = "final"
# What a run's config.json says it evaluates, beyond the cache and the settings (defaults: runs made before
# these existed); a resume must not change them.
RUN_DEFINING = {"protocol": "loso", "task": "emotion", "test_cache_key": None, "class_map": None, "aus": None,
                "au_loss": None}


# model and training settings added later (the baselines): a run made before them had these values
ADDED_DEFAULTS = {"model": "mpt", "optimizer": "adam", "weight_decay": 0.0}


class RunBusy(FileExistsError):
    """Another process is writing the run folder."""


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=1) + "\n"))


def make_config(meta, train, model_settings, weights, *, folds: bool = True, final: bool = False) -> dict:
    from mpt_core.fileio import file_sha256
    from mpt_core.framing import face_record

    return {
        "cache": str(Path(meta.path).resolve()),
        "cache_key": meta.cache_key,
        "dataset": meta.dataset,
        "classes": list(meta.classes),
        "n_clips": meta.n_clips,
        "cache_settings": meta.settings,
        # how the cache framed its faces (mode, aligner, framing): what `mpt predict` reproduces on raw video
        "face": face_record(meta.input.get("face"), getattr(meta, "framing", None)),
        "train": train.to_dict(),
        "model": asdict(model_settings),
        "weights": str(Path(weights).resolve()) if weights else None,
        "weights_sha256": file_sha256(weights) if weights else None,
        "loso": folds,
        "final": final,  # a model on every clip: final.safetensors, never counted in the LOSO metrics
        "torch": torch.__version__,
        "versions": versions(),
    }


def versions() -> dict:
    """The versions a run's numbers depend on, for its report."""
    import platform

    import numpy

    from mpt_core import __version__
    from mpt_core.compat import import_timm

    timm = import_timm()

    return {"mpt": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "timm": timm.__version__, "numpy": numpy.__version__}


def check_resume(old: dict, new: dict, path: Path) -> None:
    """Refuse to continue a run with another cache, other classes or other settings."""
    if old["classes"] != new["classes"]:
        raise ValueError(f"{path}: the run used classes {old['classes']}, the cache {new['cache']} "
                         f"has {new['classes']}; resume with the run's cache or use another --out")
    if old.get("cache_key") != new["cache_key"]:
        raise ValueError(f"{path}: the run used the cache with key {old.get('cache_key')}, "
                         f"{new['cache']} has {new['cache_key']}; resume with the same cache or use another --out")
    diffs = [f"{k}: {old.get(k, default)!r} -> {new.get(k, default)!r}" for k, default in RUN_DEFINING.items()
             if old.get(k, default) != new.get(k, default)]
    diffs += [f"model.{k}: {old['model'].get(k)!r} -> {v!r}" for k, v in new["model"].items()
              if old["model"].get(k, ADDED_DEFAULTS.get(k)) != v]
    diffs += [f"train.{k}: {old['train'].get(k)!r} -> {v!r}" for k, v in new["train"].items()
              if k not in RESUMABLE_CHANGES and old["train"].get(k, ADDED_DEFAULTS.get(k)) != v]
    if old.get("weights_sha256") != new["weights_sha256"]:
        diffs.append(f"weights: {old.get('weights')!r} -> {new['weights']!r}")
    if diffs:
        raise ValueError(f"{path}: --resume with settings that differ from the run's config.json "
                         f"({'; '.join(diffs)}); use the same options or another --out")


class RunFolder:
    """Paths and atomic reads/writes of one run folder."""

    def __init__(self, path):
        self.path = Path(path)
        self.folds_dir = self.path / "folds"
        self._lock = None

    # locking
    def lock(self) -> None:
        """Hold the folder's lock until ``unlock``; a held lock is an immediate RunBusy error."""
        self.path.mkdir(parents=True, exist_ok=True)
        lock = process_lock(self.path / ".lock")
        if not lock.try_acquire():
            raise RunBusy(f"{self.path}: run folder is being written by {lock.owner()}; wait for it to finish "
                          "or choose another --out")
        self._lock = lock

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # config
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def start(self, config: dict, *, resume: bool) -> None:
        """Write config.json, or check it against ``config`` when resuming."""
        if self.config_path.exists():
            if not resume:
                raise FileExistsError(f"{self.path}: already holds a run; pass --resume to continue it or "
                                      "choose another --out")
            old = self.config()
            check_resume(old, config, self.config_path)
            config = {**config, "loso": old.get("loso", True) or config["loso"],
                      "final": old.get("final", False) or config["final"]}
        self.folds_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, config)

    def config(self) -> dict:
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{self.path}: not a run folder (no config.json)")
        return read_json(self.config_path)

    # folds (the final model lives in the run folder itself)
    def _file(self, name: str, suffix: str) -> Path:
        # name + suffix, never Path.with_suffix: subjects such as "spNO.1" hold dots
        return (self.path if name == FINAL else self.folds_dir) / f"{name}{suffix}"

    def record_path(self, name: str) -> Path:
        return self._file(name, ".json")

    def weights_path(self, name: str) -> Path:
        return self._file(name, ".safetensors")

    def partial_path(self, name: str) -> Path:
        return self._file(name, ".partial.pt")

    def is_done(self, name: str) -> bool:
        return self.record_path(name).exists()

    def finish(self, name: str, record: dict) -> None:
        """The record is written last: it marks the fold as done; then the partial file goes."""
        write_json(self.record_path(name), record)
        self.partial_path(name).unlink(missing_ok=True)

    def save_partial(self, name: str, state: dict) -> None:
        atomic_write(self.partial_path(name), lambda p: torch.save(state, p))

    def load_partial(self, name: str) -> dict | None:
        path = self.partial_path(name)
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a torn or foreign file: say which, never unpickle arbitrary objects
            raise ValueError(f"{path}: unreadable partial checkpoint ({err}); delete it to restart that fold") from None

    def fold_records(self) -> list[dict]:
        """The finished LOSO folds (not the final model), by fold index."""
        recs = [read_json(p) for p in sorted(self.folds_dir.glob("*.json"))]
        return sorted(recs, key=lambda r: r["index"])

    def fold_weight_files(self) -> dict[str, Path]:
        """subject -> fold weights file, for the finished folds."""
        return {r["subject"]: self.weights_path(_safe(r["subject"])) for r in self.fold_records()}


def _safe(subject: str) -> str:
    return subject.replace("/", "_").replace("\\", "_")


def rng_state(gen: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "generator": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

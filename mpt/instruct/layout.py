"""Where ``mpt instruct`` writes, and how names from annotation tables become safe path parts.

    OUT/instruct.json                    what the folder holds (dataset identity); checked on every run
    OUT/llava.json, OUT/messages.jsonl   every clip
    OUT/images/SUBJECT/CLIP/{onset,apex,flow}.png, OUT/images/flow_legend.{png,txt}
    OUT/motion/SUBJECT/CLIP.json         region motion, annotation, measurement (written last per clip)
    OUT/splits/NAME/{train,test}.{json,jsonl}
    OUT/stats.json, OUT/stats.md

Subject and clip names are data: each becomes one path part of letters, digits, ``.``, ``_`` and
``-`` (anything else, a leading dot or ``..`` is replaced, and a short hash of the original keeps
two names apart), so no name can reach outside OUT.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MANIFEST = "instruct.json"
OWNED = ("llava.json", "messages.jsonl", "images", "motion", "splits", "stats.json", "stats.md", MANIFEST)


def safe_part(name: str) -> str:
    """One path part for a name from the data: itself when already safe, else cleaned + hash."""
    name = str(name)
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"
    if clean == name and name not in (".", ".."):
        return name
    return f"{clean[:60]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def clip_folder(subject: str, clip: str) -> str:
    """Relative folder of a clip's images (POSIX separators: it goes into the JSON files)."""
    return f"images/{safe_part(subject)}/{safe_part(clip)}"


def motion_file(out: Path, subject: str, clip: str) -> Path:
    return out / "motion" / safe_part(subject) / f"{safe_part(clip)}.json"


def image_paths(subject: str, clip: str) -> list[str]:
    folder = clip_folder(subject, clip)
    return [f"{folder}/onset.png", f"{folder}/apex.png", f"{folder}/flow.png"]

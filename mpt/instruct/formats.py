"""The two file formats fine-tuning stacks read, written byte-stably (same input -> same bytes).

- LLaVA JSON (``llava.json``): a list of ``{"id", "image": [onset, apex, flow], "conversations":
  [{"from": "human", "value": "<image>\\n<image>\\n<image>\\n..."}, {"from": "gpt", "value": ...}]}``.
- messages JSONL (``messages.jsonl``), the chat layout of LLaMA-Factory's sharegpt/openai style and
  ms-swift: one ``{"messages": [{"role": "system"|"user"|"assistant", "content"}], "images": [...]}``
  per line, one ``<image>`` tag per image in the user turn.

Every record also carries ``dataset``, ``subject``, ``clip``, ``template``. Image paths are relative to
the output folder (LLaVA's ``--image_folder OUT``; the folder of ``messages.jsonl`` for the others).
"""

from __future__ import annotations

import json
from pathlib import Path

from mpt_core.fileio import atomic_write
from mpt_core.names import INSTRUCT_FORMATS as FORMATS

from .conversations import IMAGES_NOTE, Turn

SYSTEM = ("You are an expert in facial micro-expressions and the Facial Action Coding System (FACS). "
          + IMAGES_NOTE + " Sides are the subject's own.")
IMAGE_TAGS = "<image>\n<image>\n<image>\n"


def record_id(clip: dict, turn: Turn) -> str:
    return "/".join([clip["dataset"], clip["subject"], clip["clip"], turn.template + (f"-{turn.tag}" if turn.tag else "")])


def llava_record(clip: dict, turn: Turn, images: list[str]) -> dict:
    return {
        "id": record_id(clip, turn), "image": images,
        "conversations": [{"from": "human", "value": f"{IMAGE_TAGS}{IMAGES_NOTE}\n{turn.question}"},
                          {"from": "gpt", "value": turn.answer}],
        "dataset": clip["dataset"], "subject": clip["subject"], "clip": clip["clip"], "template": turn.template,
    }


def messages_record(clip: dict, turn: Turn, images: list[str]) -> dict:
    return {
        "id": record_id(clip, turn),
        "messages": [{"role": "system", "content": SYSTEM},
                     {"role": "user", "content": f"{IMAGE_TAGS}{turn.question}"},
                     {"role": "assistant", "content": turn.answer}],
        "images": images,
        "dataset": clip["dataset"], "subject": clip["subject"], "clip": clip["clip"], "template": turn.template,
    }


def write_json(path: Path, data) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_jsonl(path: Path, records: list[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_records(folder: Path, stem_llava: str, stem_messages: str, llava: list[dict], messages: list[dict],
                  fmt: str) -> list[Path]:
    """Write the chosen formats into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    if fmt in ("llava", "both"):
        write_json(folder / f"{stem_llava}.json", llava)
        out.append(folder / f"{stem_llava}.json")
    if fmt in ("messages", "both"):
        write_jsonl(folder / f"{stem_messages}.jsonl", messages)
        out.append(folder / f"{stem_messages}.jsonl")
    return out

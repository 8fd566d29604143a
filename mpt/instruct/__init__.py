"""``mpt instruct``: a motion-grounded instruction dataset for multimodal LLMs from any corpus mpt reads.

Modules: ``measure`` (the one adapter over ``mpt describe``'s kernel and face alignment), ``aus``
(annotation AU strings), ``grounding`` (the dual constraint in words), ``conversations`` (templates),
``formats`` (LLaVA JSON, messages JSONL), ``splits``, ``stats``, ``images``, ``layout``, and ``build``
(the library function ``build_instruct``); ``megc_vqa`` writes MEGC 2025's ME-VQA files instead
(``--format megc-vqa``: ``build_megc_vqa``).
"""

from .build import InstructError, build_instruct

__all__ = ["build_instruct", "InstructError"]

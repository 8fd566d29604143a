"""Spot-then-recognize (``mpt str``): a long-video corpus spotted with p chosen leave-one-subject-out,
each spotted micro-expression classified by the fold model that held its subject out, and scored
with the MEGC 2023 STRS (``mpt_core.strs``). ``run.run_str`` is the library function; ``show`` prints it."""

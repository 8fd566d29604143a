"""``mpt sweep``: a study of many configurations from one TOML spec (issue 12).

spec.py (parse and validate the TOML) -> plan.py (distinct caches and runs, what is done) ->
execute.py (build and train, locally or as Ray tasks) -> tables.py (results.json, tables.md);
preset.py writes the paper's ablation study as a spec.
"""

from .execute import SweepError, SweepResult, run_sweep
from .plan import Plan, describe_plan, plan_sweep
from .preset import PRESETS, paper_spec
from .spec import SpecError, SweepSpec, load_spec, parse_spec
from .tables import collect, render, write_tables

__all__ = [
    "PRESETS", "Plan", "SpecError", "SweepError", "SweepResult", "SweepSpec", "collect", "describe_plan",
    "load_spec", "paper_spec", "parse_spec", "plan_sweep", "render", "run_sweep", "write_tables",
]

"""mpt: Motion Prompt Tuning for micro-expression recognition."""

__version__ = "0.1.0"

"""What the three frozen settings dataclasses (preprocessing, model, training) share.

Each is serialised next to the cache, checkpoint or run it describes and read back with
``from_dict``: an unknown key or a value of the wrong type is an error, never ignored.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

# field annotations (strings, under ``from __future__ import annotations``) -> accepted types
_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "int | None": (int, type(None)),
          "tuple[int, ...]": tuple}


class SettingsError(TypeError, ValueError):
    """An unknown settings key, or a value of the wrong type or out of range.

    Both a TypeError and a ValueError, so callers may catch either.
    """


class SettingsMixin:
    """``to_dict`` / ``from_dict`` / ``check_types`` for a frozen dataclass of scalar fields."""

    _kind = "setting"  # how error messages name a key: "unknown {_kind}(s)"

    def check_types(self) -> None:
        """Call from ``__post_init__``: checks every field's type; ints become floats in float fields."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, _TYPES[f.type]) or (isinstance(value, bool) and f.type != "bool"):
                raise SettingsError(f"{type(self).__name__}.{f.name} must be {f.type}, got {value!r}")
            if f.type == "float":
                object.__setattr__(self, f.name, float(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        if not isinstance(d, dict):
            raise SettingsError(f"{cls.__name__}: expected a dict, got {type(d).__name__}")
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise SettingsError(f"unknown {cls._kind}(s) for {cls.__name__}: {unknown}")
        return cls(**d)

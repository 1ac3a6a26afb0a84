"""Structural diff of XML-RPC values, calls and responses (pure: no I/O but ``load_rules``).

- ``diff_values`` / ``diff_responses`` / ``diff_calls`` return ``Difference`` records with a
  path (``result[3].name``), a kind, both sides, ``describe()`` and ``to_dict()``.
- ``Rules`` say what to ignore (paths by glob, per method, whole methods, kinds) and how close
  doubles must be; ``parse_rules``/``load_rules`` read them from TOML, ``parse_rule`` and
  ``parse_tolerance`` from flags.
- ``learn_noise`` and ``classify`` separate differences also seen between known-good runs.
- ``render_differences`` writes a list for a terminal.

See ``docs/diff.md``.
"""

from rpcspy.diff.difference import (
    BASE64_INLINE_MAX,
    KINDS,
    MINOR_KINDS,
    Difference,
    Kind,
    Side,
)
from rpcspy.diff.engine import Response, diff_calls, diff_responses, diff_values, values_equal
from rpcspy.diff.noise import NoiseEntry, NoiseModel, classify, generalise, learn_noise
from rpcspy.diff.paths import PathError, PathGlob, format_path, parse_glob, parse_path
from rpcspy.diff.render import render_differences
from rpcspy.diff.rules import (
    DEFAULT_RULES,
    IgnoreRule,
    RuleError,
    Rules,
    ToleranceRule,
    load_rules,
    parse_rule,
    parse_rules,
    parse_tolerance,
)

__all__ = [
    "BASE64_INLINE_MAX",
    "DEFAULT_RULES",
    "KINDS",
    "MINOR_KINDS",
    "Difference",
    "IgnoreRule",
    "Kind",
    "NoiseEntry",
    "NoiseModel",
    "PathError",
    "PathGlob",
    "Response",
    "RuleError",
    "Rules",
    "Side",
    "ToleranceRule",
    "classify",
    "diff_calls",
    "diff_responses",
    "diff_values",
    "format_path",
    "generalise",
    "learn_noise",
    "load_rules",
    "parse_glob",
    "parse_path",
    "parse_rule",
    "parse_rules",
    "parse_tolerance",
    "render_differences",
    "values_equal",
]

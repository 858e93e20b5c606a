"""How far learning generalizes: the levels alone, so that the command line can offer them
without importing the generalizer (policy/generalize.py, which applies them) into every
enforcing run's start-up (issue 16)."""

__all__ = ["GENERALIZE_LEVELS"]

#: How far learning generalizes (``--generalize``): ``none``, every path exact; ``strict``,
#: generalized, metadata too (path by path); ``safe`` (the default), and metadata permitted
#: anywhere, so the prefilter answers it; ``broad``, and system trees, busy directories, whole
#: groups.  docs/learning.md says what each does.
GENERALIZE_LEVELS = ("none", "strict", "safe", "broad")

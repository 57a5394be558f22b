"""Experimental features: task interruption (``asynkit.experimental.interrupt``).

``asynkit.experimental.priority`` and ``asynkit.experimental.anyio`` are separate
submodules, imported by their full dotted names (the latter needs anyio).
"""

from . import interrupt
from .interrupt import *  # noqa: F403

__all__ = interrupt.__all__

"""asynkit: fine control of asyncio coroutines, with a Rust core.

The package root re-exports the public names of ``asynkit.coroutine``,
``asynkit.loop.eventloop``, ``asynkit.monitor`` and ``asynkit.scheduling``, plus
``asynkit.tools.cancelling``.
"""

from . import coroutine as _coroutine_module
from .coroutine import *  # noqa: F403
from .coroutine import __all__ as _coroutine_all
from .loop.eventloop import *  # noqa: F403
from .loop.eventloop import __all__ as _eventloop_all
from .monitor import *  # noqa: F403
from .monitor import __all__ as _monitor_all
from .native_eager import create_native_eager_task_factory, native_eager_task_factory
from .scheduling import *  # noqa: F403
from .scheduling import __all__ as _scheduling_all
from .tools import cancelling

# The coroutine module's names win over any later star-import (spec: coroutine.md §1.1).
CoroStart = _coroutine_module.CoroStart
create_task = _coroutine_module.create_task

__all__ = [
    *_coroutine_all,
    *_eventloop_all,
    *_monitor_all,
    *_scheduling_all,
    "cancelling",
    "create_native_eager_task_factory",
    "native_eager_task_factory",
]

del _coroutine_module

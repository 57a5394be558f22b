"""Type aliases used by the scheduling layer (annotations and imports only)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    TaskAny = asyncio.Task[Any]
    FutureAny = asyncio.Future[Any]
else:
    TaskAny = asyncio.Task
    FutureAny = asyncio.Future

LoopType = asyncio.AbstractEventLoop
QueueType = deque[asyncio.Handle]

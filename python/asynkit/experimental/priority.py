"""Experimental priority scheduling (spec: ``priority.md``).

Priority tasks, priority-aware lock and condition with priority inheritance, the
priority-ordered ready queue (:class:`PosPriorityQueue`) and the event loops built on it.

A *priority* is any value supporting ``<``; **lower is more urgent**. Anything without an
``effective_priority()`` method counts as priority ``0``. Equal priorities are served FIFO.

Imported by path (``asynkit.experimental.priority``); not re-exported elsewhere.

Native queue
------------
The loop looks the ready-queue class up in exactly one place: the module global
:data:`PosPriorityQueue`, read by :meth:`PrioritySchedulingMixin.init` each time a loop
is created. The pure-Python implementation is :class:`PyPosPriorityQueue`; a native class
with the same interface can be bound to ``PosPriorityQueue`` instead.

Effective-priority caching
--------------------------
``PriorityTask.effective_priority()`` and ``PriorityLock.effective_priority()`` are
specified as computed afresh on every call. They return exactly that value, but the
result is cached and the cache invalidated along the dependency edges (a task depends on
the locks it holds, a lock on the tasks waiting for it) whenever one of the inputs
changes: ``priority_value`` assignment, lock acquire/release, waiter enqueue/dequeue and
``propagate_priority``. Only objects whose every input is known to notify changes are
cached (plain ``PriorityTask``/``PriorityLock`` instances, plain tasks without
``effective_priority``); anything else is computed afresh every time.
"""

from __future__ import annotations

import asyncio
import enum
import random
import sys
import warnings
import weakref
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Coroutine, Generator, Iterable, Iterator
from contextlib import closing
from typing import Any

import asynkit.scheduling as _scheduling
from asynkit.loop.default import TaskTypes, task_from_handle
from asynkit.loop.eventloop import _native_call_soon
from asynkit.loop.schedulingloop import AbstractSchedulingLoop
from asynkit.tools import PriorityQueue

__all__ = [
    "BasePriorityObject",
    "PriorityCondition",
    "PriorityLock",
    "PrioritySelectorEventLoop",
    "DefaultPriorityEventLoop",
    "PriorityTask",
    "PriorityEventLoopPolicy",
    "PrioritySchedulingMixin",
]


class _Unset:
    """Sentinel type of an invalid effective-priority cache."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


# ---------------------------------------------------------------------------
# §1 Priority
# ---------------------------------------------------------------------------


class Priority(enum.Enum):
    """Some basic priority values (use ``.value`` where a number is needed)."""

    LOW = 10.0
    NORMAL = 0.0
    HIGH = -10.0


# ---------------------------------------------------------------------------
# §2 BasePriorityObject
# ---------------------------------------------------------------------------


class BasePriorityObject(ABC):
    """An object taking part in priority scheduling and priority inheritance."""

    @abstractmethod
    def effective_priority(self) -> float | None:
        """The priority this object is currently served at (lower: more urgent)."""

    @abstractmethod
    def propagate_priority(self, from_obj: Any) -> None:
        """``from_obj``'s priority may have changed: pass it on / re-sort."""


# ---------------------------------------------------------------------------
# §3 PriorityTask
# ---------------------------------------------------------------------------


class PriorityTask(asyncio.Task, BasePriorityObject):  # type: ignore[type-arg,misc]
    """An :class:`asyncio.Task` with a priority, taking part in priority inheritance."""

    # True when neither ``priority`` nor ``effective_priority`` is overridden, i.e. the
    # effective priority is a function of ``priority_value`` and the held locks only,
    # and may therefore be cached (see the module docstring).
    _cacheable = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._cacheable = (
            cls.priority is PriorityTask.priority
            and cls.effective_priority is PriorityTask.effective_priority
        )

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        name: str | None = None,
        priority: Any = 0,
        context: Any = None,
        **kwargs: Any,
    ) -> None:
        # ``kwargs``: whatever else the running Python's Task accepts (``eager_start`` on
        # 3.12+, which asyncio's own eager task factory passes).
        # All of this must exist before Task.__init__, which queues the first step: on a
        # priority loop that asks for effective_priority() at once.
        self._priority_value = priority
        self._owned_locks: set[Any] = set()
        self._waiting_on: Any = None
        self._ep_cache: Any = _UNSET
        if context is None:
            super().__init__(coro, loop=loop, name=name, **kwargs)
        else:
            super().__init__(coro, loop=loop, name=name, context=context, **kwargs)

    # -- priority ------------------------------------------------------------

    @property
    def priority_value(self) -> Any:
        """The task's own priority; freely assignable."""
        return self._priority_value

    @priority_value.setter
    def priority_value(self, value: Any) -> None:
        self._priority_value = value
        self._invalidate()

    def priority(self) -> Any:
        return self._priority_value

    def effective_priority(self) -> Any:
        """``min(priority(), effective priorities of the held locks)``, ``None``s ignored."""
        if self._cacheable:
            if not self._owned_locks:
                return self._priority_value
            cached = self._ep_cache
            if cached is not _UNSET:
                return cached
        return self._compute_effective_priority()

    def _compute_effective_priority(self) -> Any:
        p = self.priority()
        stable = self._cacheable
        for lock in self._owned_locks:
            lp = lock.effective_priority()
            if lp is not None and lp < p:
                p = lp
            if stable and not (
                getattr(type(lock), "_cacheable_lock", False) and lock._ep_cache is not _UNSET
            ):
                stable = False
        if stable:
            self._ep_cache = p
        return p

    def _invalidate(self) -> None:
        """Our effective priority may have changed: drop caches that depend on it."""
        self._ep_cache = _UNSET
        lock = self._waiting_on
        if lock is not None and isinstance(lock, PriorityLock):
            lock._invalidate()

    # -- lock bookkeeping ------------------------------------------------------

    def add_owned_lock(self, lock: Any) -> None:
        self._owned_locks.add(lock)
        self._invalidate()

    def remove_owned_lock(self, lock: Any) -> None:
        self._owned_locks.remove(lock)
        self._invalidate()

    def set_waiting_on(self, obj: Any) -> None:
        if obj is not None:
            assert self._waiting_on is None, "task is already waiting on a lock"
        else:
            assert self._waiting_on is not None, "task is not waiting on a lock"
        self._waiting_on = obj

    # -- propagation -----------------------------------------------------------

    def reschedule(self) -> None:
        """Exists for compatibility; does nothing."""
        return None

    def propagate_priority(self, from_obj: Any) -> None:
        """Our effective priority may have changed: re-sort our queued step, or pass the
        request on to the lock we are waiting for."""
        self._invalidate()
        if _scheduling.task_is_runnable(self):
            loop = asyncio.get_running_loop()
            try:
                task_reschedule = loop.task_reschedule  # type: ignore[attr-defined]
            except AttributeError:
                return
            task_reschedule(self)
        else:
            lock = self._waiting_on
            if lock is not None:
                try:
                    propagate = lock.propagate_priority
                except AttributeError:
                    return
                propagate(self)


# ---------------------------------------------------------------------------
# §4 PriorityLock
# ---------------------------------------------------------------------------


class _Waiters:
    """Lock waiters ordered by priority (ascending, FIFO among equals).

    A sorted list with a parallel list of priorities searched with :func:`bisect_right`,
    which applies only ``<`` to priorities. Same order as a
    :class:`asynkit.tools.PriorityQueue` (priority, then arrival), but cheaper for the
    short queues of a lock: the head is ``[0]`` and appending at the back (the common case
    of equal priorities) costs one comparison.
    """

    __slots__ = ("_keys", "_items")

    def __init__(self) -> None:
        self._keys: list[Any] = []
        self._items: list[Any] = []

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[Any]:
        """The entries in grant order."""
        return iter(self._items)

    def items(self) -> Iterator[tuple[Any, Any]]:
        return zip(self._keys, self._items, strict=True)

    def add(self, pri: Any, item: Any) -> None:
        keys = self._keys
        if keys and pri < keys[-1]:
            i = bisect_right(keys, pri)
            keys.insert(i, pri)
            self._items.insert(i, item)
        else:
            keys.append(pri)
            self._items.append(item)

    def remove(self, item: Any) -> None:
        items = self._items
        i = 0 if items[0] is item else items.index(item)
        del items[i]
        del self._keys[i]

    def head(self) -> Any:
        return self._items[0]


class PriorityLock(asyncio.Lock, BasePriorityObject):
    """An :class:`asyncio.Lock` granted in priority order, with priority inheritance.

    The lock refers to tasks only weakly (its owner and its waiters).
    """

    _cacheable_lock = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._cacheable_lock = cls.effective_priority is PriorityLock.effective_priority

    def __init__(self) -> None:
        super().__init__()
        self._waiters: _Waiters | None = None  # type: ignore[assignment]
        self._owner: Callable[[], Any] | None = None
        # The future of the waiter that has been woken and has not run yet, if any.
        self._granted: Any = None
        self._ep_cache: Any = None  # no waiters: None

    def _get_owner(self) -> Any:
        ref = self._owner
        return None if ref is None else ref()

    def _take(self, task: Any) -> None:
        self._owner = weakref.ref(task)
        add = getattr(task, "add_owned_lock", None)
        if add is not None:
            add(self)
        self._locked = True

    async def acquire(self) -> bool:  # type: ignore[override]
        task = asyncio.current_task()
        assert task is not None, "PriorityLock.acquire() needs a current task"
        waiters = self._waiters
        if not self._locked and (waiters is None or not waiters._items):
            self._take(task)
            return True

        ep = getattr(task, "effective_priority", None)
        pri = 0 if ep is None else ep()
        if waiters is None:
            waiters = self._waiters = _Waiters()
        fut = self._get_loop().create_future()
        entry = (fut, weakref.ref(task))
        # waiters.add(pri, entry), inlined
        keys = waiters._keys
        items = waiters._items
        if keys and pri < keys[-1]:
            i = bisect_right(keys, pri)
            keys.insert(i, pri)
            items.insert(i, entry)
        else:
            keys.append(pri)
            items.append(entry)
        set_waiting_on = getattr(task, "set_waiting_on", None)
        if set_waiting_on is not None:
            set_waiting_on(self)
        if self._ep_cache is not _UNSET:
            self._invalidate()
        try:
            ref = self._owner
            owner = None if ref is None else ref()
            if owner is not None:
                propagate = getattr(owner, "propagate_priority", None)
                if propagate is not None:
                    propagate(self)
            await fut
        except BaseException:
            self._leave(waiters, entry, set_waiting_on)
            # Woken but not taking the lock (cancelled, interrupted...): hand it on.
            if self._granted is fut:
                self._granted = None
            if not self._locked:
                self._wake_up_first()
            raise
        # self._leave(waiters, entry, set_waiting_on), inlined
        i = 0 if items[0] is entry else items.index(entry)
        del items[i]
        del keys[i]
        if self._ep_cache is not _UNSET:
            self._invalidate()
        if set_waiting_on is not None:
            set_waiting_on(None)
        self._granted = None
        self._take(task)
        return True

    def _leave(self, waiters: _Waiters, entry: Any, set_waiting_on: Any) -> None:
        """Way out of a contended acquire: dequeue and stop waiting."""
        waiters.remove(entry)
        self._invalidate()
        if set_waiting_on is not None:
            set_waiting_on(None)

    def release(self) -> None:
        if not self._locked:
            raise RuntimeError("Lock is not acquired.")
        ref = self._owner
        if ref is not None:
            self._owner = None
            owner = ref()
            if owner is not None:
                remove = getattr(owner, "remove_owned_lock", None)
                if remove is not None:
                    remove(self)
        self._locked = False
        # self._wake_up_first(), inlined
        if self._granted is None:
            waiters = self._waiters
            if waiters is not None and waiters._items:
                fut = waiters._items[0][0]
                if not fut.done():
                    fut.set_result(True)
                    self._granted = fut

    def _wake_up_first(self) -> None:
        """Wake the head waiter (only the head, and only if not woken already).

        Nobody is woken while an earlier woken waiter has yet to run: a more urgent
        newcomer may have become the head meanwhile, and waking it too would grant
        the lock twice.
        """
        if self._granted is not None:
            return
        waiters = self._waiters
        if waiters:
            fut = waiters.head()[0]
            if not fut.done():
                fut.set_result(True)
                self._granted = fut

    # -- priority --------------------------------------------------------------

    def effective_priority(self) -> Any:
        """The most urgent current effective priority among the waiters, or ``None``."""
        cached = self._ep_cache
        if cached is not _UNSET:
            return cached
        waiters = self._waiters
        if not waiters:
            self._ep_cache = None
            return None
        best: Any = _UNSET
        stable = True
        for _fut, ref in waiters:
            task = ref()
            if task is None:  # pragma: no cover - a waiting task is referenced by its future
                continue
            ep = getattr(task, "effective_priority", None)
            if ep is None:
                p: Any = 0
            else:
                p = ep()
                if stable and not (
                    isinstance(task, PriorityTask)
                    and task._cacheable
                    and (not task._owned_locks or task._ep_cache is not _UNSET)
                ):
                    stable = False
            if best is _UNSET or p < best:
                best = p
        if best is _UNSET:  # pragma: no cover - only dead references
            best = None
        if stable:
            self._ep_cache = best
        return best

    def _invalidate(self) -> None:
        # Invariant: if this cache is unset, so is every cache depending on it (the
        # owner's, the lock the owner waits for, ...). That also stops cycles.
        if self._ep_cache is _UNSET:
            return
        self._ep_cache = _UNSET
        owner = self._get_owner()
        if owner is not None and isinstance(owner, PriorityTask):
            owner._invalidate()

    def propagate_priority(self, from_obj: Any) -> None:
        """A waiter's priority may have risen: pass it on to the owner.

        As in the original, the waiter's queue entry is not re-sorted: waiters are served
        in the order of the priority they had when they started waiting.
        """
        self._ep_cache = _UNSET
        owner = self._get_owner()
        if owner is not None:
            if isinstance(owner, PriorityTask):
                owner._invalidate()
            propagate = getattr(owner, "propagate_priority", None)
            if propagate is not None:
                propagate(self)


# ---------------------------------------------------------------------------
# §5 PriorityCondition
# ---------------------------------------------------------------------------


class PriorityCondition(asyncio.Condition):
    """An :class:`asyncio.Condition` notifying waiters in priority order."""

    LockType: type[asyncio.Lock] = PriorityLock

    def __init__(self, lock: asyncio.Lock | None = None) -> None:
        if not lock:
            lock = self.LockType()
        super().__init__(lock)
        self._waiters: PriorityQueue[Any, asyncio.Future[Any]] = PriorityQueue()  # type: ignore[assignment]

    async def wait(self) -> bool:  # type: ignore[override]
        if not self.locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        task = asyncio.current_task()
        ep = getattr(task, "effective_priority", None)
        pri = 0 if ep is None else ep()
        fut = self._get_loop().create_future()
        self.release()
        try:
            try:
                self._waiters.add(pri, fut)
                try:
                    await fut
                    return True
                finally:
                    self._waiters.remove(fut)
            finally:
                # Re-acquire the lock whatever happened; a cancellation meanwhile is
                # remembered (the exact instance) and raised once the lock is held.
                err: BaseException | None = None
                while True:
                    try:
                        await self.acquire()
                        break
                    except asyncio.CancelledError as e:
                        err = e
                if err is not None:
                    try:
                        raise err
                    finally:
                        err = None  # break the reference cycle through the frame
        except BaseException:
            # We may have consumed a notification: pass it on.
            self._notify(1)
            raise

    def notify(self, n: int = 1) -> None:
        if not self.locked():
            raise RuntimeError("cannot notify on un-acquired lock")
        self._notify(n)

    def _notify(self, n: int) -> None:
        idx = 0
        with closing(self._waiters.ordered()) as waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(True)
                    idx += 1
                    if idx >= n:
                        break

    def propagate_priority(self, from_obj: Any) -> None:
        """Conditions take no part in priority inheritance."""
        return None


# ---------------------------------------------------------------------------
# §8 PriorityValue, §9 PosPriorityQueue
# ---------------------------------------------------------------------------


class PriorityValue:
    """The ready queue's per-entry priority record.

    Class 0 ("immediate", positional inserts) always precedes class 1; within a class
    entries compare by ``priority() = base_priority + priority_boost``.
    """

    __slots__ = ("base_priority", "inserted_at", "priority_boost", "priority_class")

    def __init__(
        self,
        base_priority: Any,
        inserted_at: int,
        priority_boost: float = 0.0,
        priority_class: int = 1,
    ) -> None:
        self.base_priority = base_priority
        self.inserted_at = inserted_at
        self.priority_boost = priority_boost
        self.priority_class = priority_class

    def priority(self) -> Any:
        return self.base_priority + self.priority_boost

    def __lt__(self, other: PriorityValue) -> bool:
        c = self.priority_class
        if c != other.priority_class:
            return c < other.priority_class  # type: ignore[no-any-return]
        return (  # type: ignore[no-any-return]
            self.base_priority + self.priority_boost < other.base_priority + other.priority_boost
        )

    def __repr__(self) -> str:
        return (
            f"PriorityValue(base_priority={self.base_priority!r}, "
            f"inserted_at={self.inserted_at!r}, priority_boost={self.priority_boost!r}, "
            f"priority_class={self.priority_class!r})"
        )


class PyPosPriorityQueue:
    """Deque-compatible priority queue: the priority loop's ready queue (pure Python).

    Lower priority first, FIFO among equals; positional inserts go to an "immediate"
    class ahead of everything prioritised. Stragglers are boosted by periodic
    maintenance so that nothing starves.
    """

    def __init__(self, get_priority: Callable[[Any], Any]) -> None:
        self._pq: PriorityQueue[PriorityValue, Any] = PriorityQueue()
        self._get_priority = get_priority
        self.n_inserted = 0
        self.n_removed = 0
        self.last_maintenance = 0
        self.priority_boost_factor = 1.2

    # -- deque-compatible surface -----------------------------------------------

    def __len__(self) -> int:
        return len(self._pq)

    def __bool__(self) -> bool:
        return bool(self._pq)

    def append(self, obj: Any) -> None:
        self._pq.add(PriorityValue(self._get_priority(obj), self.n_inserted), obj)
        self._count_insertion()

    def append_pri(self, obj: Any, priority: Any) -> None:
        self._pq.add(PriorityValue(priority, self.n_inserted), obj)
        self._count_insertion()

    def popleft(self) -> Any:
        obj = self._pq.pop()  # IndexError when empty, before any counting
        self._count_removal()
        return obj

    def clear(self) -> None:
        self._pq.clear()

    def __iter__(self) -> Iterator[Any]:
        return self._iter_sorted()

    def _iter_sorted(self) -> Generator[Any, None, None]:
        pq = self._pq
        pq.sort()  # lazily, when iteration starts
        yield from pq

    # -- other operations --------------------------------------------------------

    def insert(self, position: int, obj: Any) -> None:
        """Insert ``obj`` so that it is at index ``position`` of the pop order.

        ``list.insert`` semantics (a negative position counts from the end, an extension
        of the spec's ``position >= 0``). The items ahead of it become "immediate".
        """
        pq = self._pq
        if position < 0:
            position = max(0, len(pq) + position)
        moved = []
        for _ in range(position):
            if not pq:
                break
            moved.append(self.popleft())
        base = 0.0
        if pq:
            head = pq.peekitem()[0]
            if head.priority_class == 0:
                base = head.base_priority - 1
        value = PriorityValue(base, self.n_inserted, 0.0, 0)
        for item in moved:
            pq.add(value, item)
        pq.add(value, obj)
        self._count_insertion()

    def remove(self, obj: Any) -> None:
        self._pq.remove(obj)  # ValueError when absent, no counting then
        self._count_removal()

    def find(self, key: Callable[[Any], Any], remove: bool = False) -> Any:
        found = self._pq.find(key, remove)
        return None if found is None else found[1]

    def reschedule(self, key: Callable[[Any], Any], new_priority: Any) -> Any:
        return self._pq.reschedule(key, PriorityValue(new_priority, self.n_inserted))

    def reschedule_all(self) -> None:
        """Re-read every prioritised item's base priority and rebuild the queue."""
        pq = self._pq
        get_priority = self._get_priority
        entries = []
        for value, obj in pq.items():
            if value.priority_class != 0:
                value.base_priority = get_priority(obj)
            entries.append((value, obj))
        pq.clear()
        pq.extend(entries)

    # -- maintenance ----------------------------------------------------------------

    def _count_insertion(self) -> None:
        n_inserted = self.n_inserted = self.n_inserted + 1
        n_removed = self.n_removed
        throughput = n_removed if n_removed < n_inserted else n_inserted
        length = len(self._pq)
        if throughput > (length if length > 10 else 10) + self.last_maintenance:
            self.do_maintenance()
            self.last_maintenance = throughput

    def _count_removal(self) -> None:
        if self._pq:
            self.n_removed += 1
        else:
            self.n_inserted = self.n_removed = 0

    def do_maintenance(self) -> None:
        """Boost stragglers: prioritised items queued for longer than the queue is long."""
        if not self.priority_boost_factor:
            return
        pq = self._pq
        if not pq:
            return
        min_pri = max_pri = pq.peekitem()[0].priority()
        horizon = self.n_inserted - len(pq)
        stragglers = []
        for value, obj in pq.items():
            if value.priority_class == 0:
                continue
            p = value.priority()
            if p < min_pri:
                min_pri = p
            if max_pri < p:
                max_pri = p
            if value.inserted_at < horizon:
                stragglers.append((value, obj))
        if stragglers:
            self.boost_stragglers(stragglers, min_pri, max_pri)

    def boost_stragglers(
        self, stragglers: Iterable[tuple[PriorityValue, Any]], min_pri: Any, max_pri: Any
    ) -> None:
        boosted = False
        for value, _obj in stragglers:
            if min_pri < value.base_priority:
                boost = self.compute_priority_boost(value.base_priority, min_pri, max_pri)
                if boost:
                    value.priority_boost = boost
                    boosted = True
        if boosted:
            self._pq.refresh()

    def compute_priority_boost(self, priority: Any, min_pri: Any, max_pri: Any) -> Any:
        """A random negative offset in ``((min_pri - priority) * factor, 0]``."""
        return random.random() * (min_pri - priority) * self.priority_boost_factor


#: The ready-queue class used by the priority loops (the one place to swap in a native
#: implementation with the same interface).
PosPriorityQueue: Any = PyPosPriorityQueue


# ---------------------------------------------------------------------------
# §10 PrioritySchedulingMixin
# ---------------------------------------------------------------------------


class PrioritySchedulingMixin(AbstractSchedulingLoop):
    """Mixin for an asyncio loop whose ready queue ``_ready`` is a priority queue.

    The loop class calls :meth:`init` after the base loop's ``__init__`` and then sets
    ``self._ready = self.ready_queue``.
    """

    ready_queue: Any

    def init(self) -> None:
        self.ready_queue = PosPriorityQueue(self.get_priority)

    def get_priority(self, handle: Any) -> Any:
        """A handle's priority: its task's effective priority, else ``0.0``."""
        if self.task_from_handle is task_from_handle:
            # task_from_handle(handle), inlined
            try:
                task = handle._callback.__self__
            except AttributeError:
                return 0.0
            if not isinstance(task, TaskTypes):
                return 0.0
        else:
            task = self.task_from_handle(handle)
        if task is not None:
            ep = getattr(task, "effective_priority", None)
            if ep is not None:
                return ep()
        return 0.0

    task_from_handle = staticmethod(task_from_handle)  # type: ignore[assignment]

    def queue_len(self) -> int:
        return len(self.ready_queue)

    def queue_items(self) -> Iterable[asyncio.Handle]:
        return iter(self.ready_queue)

    def queue_find(
        self, key: Callable[[asyncio.Handle], bool], remove: bool = False
    ) -> asyncio.Handle | None:
        return self.ready_queue.find(key, remove)  # type: ignore[no-any-return]

    def queue_remove(self, handle: asyncio.Handle) -> None:
        self.ready_queue.remove(handle)

    def queue_insert(self, handle: asyncio.Handle) -> None:
        self.ready_queue.append(handle)

    def queue_insert_pos(self, handle: asyncio.Handle, position: int) -> None:
        self.ready_queue.insert(position, handle)

    def call_pos(
        self,
        position: int,
        callback: Callable[..., Any],
        *args: Any,
        context: Any = None,
    ) -> asyncio.Handle:
        handle = self.call_soon(callback, *args, context=context)  # type: ignore[attr-defined]
        self.queue_remove(handle)
        self.queue_insert_pos(handle, position)
        return handle  # type: ignore[no-any-return]

    def task_reschedule(self, task: Any) -> None:
        """Re-sort ``task``'s queued handle to its current effective priority."""
        ep = getattr(task, "effective_priority", None)
        if ep is None:
            return
        self.ready_queue.reschedule(self.task_key(task), ep())


def _use_native_queue() -> None:
    """Bind :data:`PosPriorityQueue` to the native queue (``asynkit._asynkit``).

    Same interface and behaviour as :class:`PyPosPriorityQueue`, which stays the reference
    and is used under ``ASYNKIT_DISABLE_CEXT=1``. The native ``append`` reads the
    priority of a loop's handles itself when the queue's priority function is the
    default :meth:`PrioritySchedulingMixin.get_priority`.
    """
    global PosPriorityQueue
    from asynkit import coroutine as _coroutine

    if not _coroutine._HAVE_C_EXTENSION:
        return
    native = _coroutine._native
    native._configure_prio_queue(PrioritySchedulingMixin, TaskTypes, PriorityTask, _UNSET)
    PosPriorityQueue = native.PosPriorityQueue


_use_native_queue()


# ---------------------------------------------------------------------------
# §11 Loop classes and policy
# ---------------------------------------------------------------------------


class PrioritySelectorEventLoop(asyncio.SelectorEventLoop, PrioritySchedulingMixin):  # type: ignore[misc,valid-type]
    def __init__(self, arg: Any = None) -> None:
        super().__init__(arg)
        self.init()
        self._ready = self.ready_queue


# As on the scheduling loops: BaseEventLoop.call_soon with the Handle built natively (it
# is then put in the priority queue by the queue's own ``append``).
if _native_call_soon is not None:
    PrioritySelectorEventLoop.call_soon = _native_call_soon  # type: ignore[method-assign]

if hasattr(asyncio, "ProactorEventLoop"):  # pragma: no cover - Windows only

    class PriorityProactorEventLoop(
        asyncio.ProactorEventLoop,  # type: ignore[name-defined,misc]
        PrioritySchedulingMixin,
    ):
        def __init__(self, arg: Any = None) -> None:
            super().__init__(arg)
            self.init()
            self._ready = self.ready_queue

    if _native_call_soon is not None:
        PriorityProactorEventLoop.call_soon = _native_call_soon  # type: ignore[method-assign]

    __all__.append("PriorityProactorEventLoop")

if sys.platform == "win32" and "PriorityProactorEventLoop" in globals():  # pragma: no cover
    DefaultPriorityEventLoop: type[asyncio.AbstractEventLoop] = PriorityProactorEventLoop
else:
    DefaultPriorityEventLoop = PrioritySelectorEventLoop


with warnings.catch_warnings():
    # asyncio.DefaultEventLoopPolicy is deprecated (and warns on access) from 3.14.
    warnings.simplefilter("ignore", DeprecationWarning)
    _DefaultEventLoopPolicy = asyncio.DefaultEventLoopPolicy


class PriorityEventLoopPolicy(_DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
    """The default policy, except that new loops are priority loops."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return DefaultPriorityEventLoop()

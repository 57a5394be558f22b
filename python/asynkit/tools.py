"""Small general-purpose helpers used across asynkit.

Contents (spec: eager-tasks.md §9):

* ``create_task`` -- the original :func:`asyncio.create_task`, captured at import.
* ``deque_pop(d, pos=-1)`` -- ``list.pop(pos)`` semantics for a :class:`collections.deque`.
* ``cancelling(target, msg=None)`` -- context manager cancelling ``target`` on exit.
* ``Cancellable`` / ``Sortable`` protocols and the ``T`` / ``P`` / ``CA`` type variables.
* ``PriorityQueue`` / ``PriEntry`` -- a binary min-heap with FIFO tie-breaking.

This module is deliberately pure Python: tests and other modules monkeypatch its
globals and manipulate ``PriorityQueue._pq`` directly.  It must not import
``asynkit.coroutine`` (which imports this module).
"""

from __future__ import annotations

import asyncio
import heapq
import operator
from collections import deque
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generator,
    Generic,
    Iterable,
    Iterator,
    TypeVar,
)

try:  # pragma: no cover - depends on the environment
    from typing_extensions import Protocol
except ImportError:  # pragma: no cover - typing_extensions is optional on 3.11+
    from typing import Protocol  # type: ignore[assignment]

# The original ``asyncio.create_task``, bound once at import.  asynkit uses this
# whenever it needs "a plain task", so that ``asynkit.compat.enable_eager_tasks()``
# (which may replace ``asyncio.create_task``) can never make it recurse.
create_task = asyncio.create_task

T = TypeVar("T")


class Cancellable(Protocol):
    """Anything that can be cancelled with an optional message (Future, Task, ...)."""

    def cancel(self, msg: str | None = None) -> Any: ...

    def cancelled(self) -> bool: ...


class Sortable(Protocol):
    """Anything supporting ``<`` (the only comparison PriorityQueue uses)."""

    def __lt__(self, other: Any) -> bool: ...


P = TypeVar("P", bound=Sortable)
CA = TypeVar("CA", bound=Cancellable)

if TYPE_CHECKING:
    _TaskAny = asyncio.Task[Any]
else:
    _TaskAny = asyncio.Task


def deque_pop(d: deque[T], pos: int = -1) -> T:
    """Remove and return the element at index ``pos`` of deque ``d``.

    Exactly ``list.pop(pos)`` semantics: negative indexes count from the right,
    the other elements keep their relative order and ``d`` is mutated in place.
    Raises ``IndexError("pop index out of range")`` for any index outside
    ``[-len(d), len(d))``, including every pop from an empty deque.
    """
    n = len(d)
    pos = operator.index(pos)
    if pos < 0:
        pos += n
    if pos < 0 or pos >= n:
        raise IndexError("pop index out of range")
    if pos == n - 1:
        return d.pop()
    if pos == 0:
        return d.popleft()
    # Item access and deletion on a deque are implemented in C by rotating the
    # shorter way round: O(min(pos, len - pos)).
    result = d[pos]
    del d[pos]
    return result


@contextmanager
def cancelling(target: CA, msg: str | None = None) -> Generator[CA, None, None]:
    """Context manager yielding ``target`` and calling ``target.cancel(msg)`` on exit.

    ``cancel`` is always called, whatever way the block is left (and even if the
    target is already done, where it is a harmless no-op).  Exceptions raised in
    the block propagate unchanged.
    """
    try:
        yield target
    finally:
        target.cancel(msg)


class PriEntry(Generic[P, T]):
    """A heap entry: ``priority``, insertion ``sequence`` and the stored ``obj``.

    Entry ``a`` precedes entry ``b`` iff ``a.priority < b.priority``, or the
    priorities are mutually not-less and ``a.sequence < b.sequence``.  Only ``<``
    is ever applied to priorities.
    """

    priority: P
    sequence: int = 0
    obj: T

    def __init__(self, priority: P, sequence: int, obj: T) -> None:
        self.priority = priority
        self.sequence = sequence
        self.obj = obj

    def __lt__(self, other: PriEntry[P, T]) -> bool:
        a = self.priority
        b = other.priority
        if a < b:
            return True
        if b < a:
            return False
        return self.sequence < other.sequence

    def __repr__(self) -> str:
        return f"PriEntry({self.priority!r}, {self.sequence!r}, {self.obj!r})"


def _sift_toward_root(heap: list[Any], pos: int) -> None:
    """Move ``heap[pos]`` up towards the root until its parent is not greater."""
    item = heap[pos]
    while pos > 0:
        parentpos = (pos - 1) >> 1
        parent = heap[parentpos]
        if item < parent:
            heap[pos] = parent
            pos = parentpos
            continue
        break
    heap[pos] = item


def _sift_toward_leaves(heap: list[Any], pos: int) -> None:
    """Move ``heap[pos]`` down until neither child is smaller."""
    endpos = len(heap)
    item = heap[pos]
    childpos = 2 * pos + 1
    while childpos < endpos:
        rightpos = childpos + 1
        if rightpos < endpos and heap[rightpos] < heap[childpos]:
            childpos = rightpos
        child = heap[childpos]
        if child < item:
            heap[pos] = child
            pos = childpos
            childpos = 2 * pos + 1
        else:
            break
    heap[pos] = item


class PriorityQueue(Generic[P, T]):
    """A binary min-heap of ``(priority, object)`` pairs with FIFO tie-breaking.

    Lower priorities come out first; equal (mutually non-less) priorities come
    out in insertion order.  ``_pq`` is the plain list that *is* the heap, and
    may be reordered externally as long as :meth:`refresh` is called afterwards.
    """

    def __init__(self) -> None:
        self._pq: list[PriEntry[P, T]] = []
        self._sequence = 0

    # -- size and iteration -------------------------------------------------

    def __len__(self) -> int:
        return len(self._pq)

    def __bool__(self) -> bool:
        return bool(self._pq)

    def __iter__(self) -> Iterator[T]:
        """Objects in storage order (pop order only right after :meth:`sort`)."""
        return (entry.obj for entry in self._pq)

    def items(self) -> Iterator[tuple[P, T]]:
        """``(priority, obj)`` pairs in storage order."""
        return ((entry.priority, entry.obj) for entry in self._pq)

    # -- insertion ----------------------------------------------------------

    def add(self, pri: P, obj: T) -> None:
        """Insert ``obj`` with priority ``pri``."""
        heapq.heappush(self._pq, PriEntry(pri, self._sequence, obj))
        self._sequence += 1

    def extend(self, entries: Iterable[tuple[P, T]]) -> None:
        """Append all ``(pri, obj)`` pairs with consecutive sequence numbers, then
        re-heapify once."""
        pq = self._pq
        seq = self._sequence
        try:
            for pri, obj in entries:
                pq.append(PriEntry(pri, seq, obj))
                seq += 1
        finally:
            self._sequence = seq
            heapq.heapify(pq)

    # -- removal ------------------------------------------------------------

    def pop(self) -> T:
        """Remove and return the first object; ``IndexError`` if empty."""
        pq = self._pq
        entry = heapq.heappop(pq)
        if not pq:
            self._sequence = 0
        return entry.obj

    def popitem(self) -> tuple[P, T]:
        """Remove and return the first ``(priority, obj)``; ``IndexError`` if empty."""
        pq = self._pq
        entry = heapq.heappop(pq)
        if not pq:
            self._sequence = 0
        return entry.priority, entry.obj

    def peek(self) -> T:
        """The first object, not removed; ``IndexError`` if empty."""
        return self._pq[0].obj

    def peekitem(self) -> tuple[P, T]:
        """The first ``(priority, obj)``, not removed; ``IndexError`` if empty."""
        entry = self._pq[0]
        return entry.priority, entry.obj

    def _remove_at(self, i: int) -> None:
        """Delete the entry at storage index ``i`` keeping the heap valid."""
        pq = self._pq
        last = pq.pop()
        if i < len(pq):
            pq[i] = last
            if i > 0 and last < pq[(i - 1) >> 1]:
                _sift_toward_root(pq, i)
            else:
                _sift_toward_leaves(pq, i)
        if not pq:
            self._sequence = 0

    def remove(self, obj: T) -> P:
        """Remove the first entry (storage order) whose object ``== obj`` and return
        its priority.  ``ValueError`` if there is none."""
        for i, entry in enumerate(self._pq):
            if entry.obj == obj:
                self._remove_at(i)
                return entry.priority
        raise ValueError(f"{obj!r} not in queue")

    def find(self, key: Callable[[T], Any], remove: bool = False) -> tuple[P, T] | None:
        """Scan storage from the back for the first object with a truthy ``key(obj)``.

        Returns ``(priority, obj)`` for it (deleting the entry when ``remove`` is
        true), or ``None`` if nothing matches.
        """
        pq = self._pq
        for i in range(len(pq) - 1, -1, -1):
            entry = pq[i]
            if key(entry.obj):
                if remove:
                    self._remove_at(i)
                return entry.priority, entry.obj
        return None

    def reschedule(self, key: Callable[[T], Any], new_priority: P) -> T | None:
        """Give the first matching entry (scanning from the back) ``new_priority``.

        The entry keeps its sequence number.  Returns the matched object (also
        when the priority is unchanged), or ``None`` if nothing matches.
        """
        pq = self._pq
        for i in range(len(pq) - 1, -1, -1):
            entry = pq[i]
            if key(entry.obj):
                old = entry.priority
                if old < new_priority:
                    entry.priority = new_priority
                    _sift_toward_leaves(pq, i)
                elif new_priority < old:
                    entry.priority = new_priority
                    _sift_toward_root(pq, i)
                return entry.obj
        return None

    def clear(self) -> None:
        """Remove everything and reset the sequence counter."""
        self._pq.clear()
        self._sequence = 0

    # -- maintenance --------------------------------------------------------

    def refresh(self) -> None:
        """Re-heapify the storage in place (after external mutation)."""
        heapq.heapify(self._pq)

    def sort(self) -> None:
        """Sort the storage into pop order (a sorted list is also a valid heap)."""
        self._pq.sort()

    def copy(self) -> PriorityQueue[P, T]:
        """A shallow copy: new storage list (sharing entries) and same counter."""
        result = type(self)()
        result._pq = list(self._pq)
        result._sequence = self._sequence
        return result

    def sorted(self) -> PriorityQueue[P, T]:
        """A sorted copy; the original is untouched."""
        result = self.copy()
        result.sort()
        return result

    # -- non-destructive ordered iteration ----------------------------------

    def ordereditems(self) -> Generator[tuple[P, T], None, None]:
        """Yield ``(priority, obj)`` in pop order without consuming the queue.

        Each head is popped into a side list only when the generator is resumed;
        on exhaustion or ``close()`` every popped entry is put back.  While the
        generator is suspended the queue lacks the entries already passed.  The
        sequence counter is never touched.
        """
        pq = self._pq
        popped: list[PriEntry[P, T]] = []
        try:
            while pq:
                entry = pq[0]
                yield entry.priority, entry.obj
                popped.append(heapq.heappop(pq))
        finally:
            if popped:
                pq.extend(popped)
                heapq.heapify(pq)

    def ordered(self) -> Generator[T, None, None]:
        """Like :meth:`ordereditems` but yields the objects only."""
        inner = self.ordereditems()
        try:
            for _pri, obj in inner:
                yield obj
        finally:
            inner.close()

"""Type stubs for the Rust extension ``asynkit._asynkit`` (see asynkit.coroutine)."""

from collections.abc import Callable, Generator
from contextvars import Context
from types import GenericAlias
from typing import Any, Generic, TypeVar, final

from typing_extensions import disjoint_base

_T_co = TypeVar("_T_co", covariant=True)

__test__: bool
__all__ = [
    "CoroStartBase",
    "CoroStart",
    "CoroStartWrapperType",
    "EagerTaskFactory",
    "get_build_info",
    "_make_full_class",
    "_configure_await_sync",
    "_configure_introspection",
    "await_sync",
    "coro_is_new",
    "coro_is_suspended",
    "_configure_eager",
    "_after_fork_in_child",
    "_configure_eager_factory",
    "_new_eager_task_factory",
    "coro_eager",
    "eager",
    "get_running_loop",
    "__test__",
]

@disjoint_base
class CoroStart(Generic[_T_co]):
    """Native base of CoroStart: starts a coroutine eagerly and holds its first step."""

    def __new__(
        cls, coro: Any, context: Context | None = None, autostart: bool = True
    ) -> CoroStart[_T_co]: ...
    def __await__(self) -> Generator[Any, Any, _T_co]: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...
    def done(self) -> bool: ...
    def pending(self) -> bool: ...
    def continued(self) -> bool: ...
    def result(self) -> _T_co: ...
    def exception(self) -> BaseException | None: ...
    def start(self, context: Context | None = None) -> bool: ...
    def _throw(self, exc: BaseException | type[BaseException], /) -> None: ...
    def close(self) -> None: ...

CoroStartBase = CoroStart

@final
class CoroStartWrapperType:
    """The awaiter returned by ``CoroStart.__await__``."""

    def __iter__(self) -> CoroStartWrapperType: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any, /) -> Any: ...
    def throw(self, typ: Any, val: Any = ..., tb: Any = ..., /) -> Any: ...
    def close(self) -> None: ...

@final
class EagerTaskFactory:
    """A task factory: ``factory(loop, coro, **kwargs)`` for ``loop.set_task_factory()``."""

    def __call__(self, loop: Any, coro: Any, /, **kwargs: Any) -> Any: ...

def get_build_info() -> dict[str, str]: ...
def get_running_loop() -> Any: ...
def await_sync(coro: Any, /) -> Any: ...
def coro_eager(coro: Any, *, create_task: Any = None, context: Context | None = None) -> Any: ...
def eager(arg: Any, *, create_task: Any = None) -> Any: ...
def coro_is_new(coro: Any, /) -> bool: ...
def coro_is_suspended(coro: Any, /) -> bool: ...
def _make_full_class(module: Any, mixin: type) -> type: ...
def _configure_await_sync(
    globals: dict[str, Any],
    native_class: type,
    py_await_sync: Callable[..., Any],
    suspended: Callable[..., Any],
) -> None: ...
def _configure_eager(
    globals: dict[str, Any],
    native_class: type,
    py_coro_eager: Callable[..., Any],
    py_eager: Callable[..., Any],
    cont: Callable[..., Any],
    get_running_loop: Callable[[], Any],
) -> None: ...
def _configure_introspection(
    fallback_new: Callable[[Any], bool],
    fallback_suspended: Callable[[Any], bool],
    new: Any,
    suspended: Any,
    finished: Any,
) -> bool: ...
def _after_fork_in_child() -> None: ...
def _configure_eager_factory(
    asyncio: Any, task_like_future: type, cont: Callable[..., Any], tlf_init: Any
) -> None: ...
def _new_eager_task_factory(ctor: Callable[..., Any], py_factory: Callable[..., Any]) -> Any: ...

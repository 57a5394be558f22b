"""Resumable parsers built on Monitor and GeneratorObject (monitor.md §3, §5, §7).

A RESP-like (Redis protocol) parser is written once as ordinary coroutines that ask for
more bytes with ``await monitor.oob()``; it is fed in chunks of every size, driven both by
an event loop and, with no loop at all, by ``await_sync``.  The package page's line-reader
``manager`` pattern and a GeneratorObject message stream are exercised the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from asynkit import GeneratorObject, Monitor, OOBData, aiter_sync, await_sync
from asynkit.coroutine import coro_is_finished

pytestmark = pytest.mark.usefixtures("patch_corostart")

# ---------------------------------------------------------------------------
# the parser: plain coroutines, state lives in their frames
# ---------------------------------------------------------------------------


class RespError(Exception):
    pass


class ProtocolError(Exception):
    pass


class Reader:
    """A byte buffer whose owner asks for more data with an awaitable ``more()``."""

    def __init__(self, more: Any, data: bytes = b"") -> None:
        self.more = more  # () -> awaitable returning the next chunk
        self.buf = data
        self.requests = 0

    async def _fill(self) -> None:
        self.requests += 1
        chunk = await self.more()
        if not isinstance(chunk, bytes):
            raise TypeError(f"expected bytes, got {chunk!r}")
        self.buf += chunk

    async def readline(self) -> bytes:
        while (i := self.buf.find(b"\r\n")) < 0:
            await self._fill()
        line, self.buf = self.buf[:i], self.buf[i + 2 :]
        return line

    async def readexact(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


async def parse_value(r: Reader) -> Any:
    line = await r.readline()
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RespError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = await r.readexact(n + 2)
        if data[-2:] != b"\r\n":
            raise ProtocolError("bulk string not terminated")
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [await parse_value(r) for _ in range(n)]  # recursion: no re-yield boilerplate
    raise ProtocolError(f"bad type byte {kind!r}")


async def parse_message(m: Monitor[tuple[Any, bytes]], data: bytes) -> tuple[Any, bytes]:
    """One message from ``data`` plus whatever ``m.oob()`` delivers; returns (value, rest)."""
    r = Reader(m.oob, data)
    value = await parse_value(r)
    return value, r.buf


def encode(value: Any) -> bytes:
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, str):
        return b"+" + value.encode() + b"\r\n"
    if isinstance(value, RespError):
        return b"-" + str(value).encode() + b"\r\n"
    if isinstance(value, int):
        return b":" + str(value).encode() + b"\r\n"
    if isinstance(value, bytes):
        return b"$" + str(len(value)).encode() + b"\r\n" + value + b"\r\n"
    return b"*" + str(len(value)).encode() + b"\r\n" + b"".join(encode(v) for v in value)


def norm(value: Any) -> Any:
    if isinstance(value, RespError):
        return ("error", str(value))
    if isinstance(value, list):
        return [norm(v) for v in value]
    return value


MESSAGES: list[Any] = [
    "OK",
    RespError("ERR unknown command"),
    0,
    -12345,
    b"",
    b"hello\r\nworld",  # a bulk string containing the line terminator
    None,
    [b"SET", b"key", b"value"],
    [1, [2, [3, ["deep", None]]], [], b"x" * 300],
]
STREAM = b"".join(encode(v) for v in MESSAGES)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


SIZES = [1, 2, 3, 7, 64, len(STREAM)]

# ---------------------------------------------------------------------------
# driving with the package page's start()/try_await() pattern
# ---------------------------------------------------------------------------


def parse_all_sync(chunks: Iterable[bytes]) -> tuple[list[Any], int]:
    """Parse every message with await_sync only (no event loop anywhere)."""
    m: Monitor[tuple[Any, bytes]] = Monitor()
    out: list[Any] = []
    pending = b""
    feeds = 0
    chunk_iter = iter(chunks)
    while True:
        if not pending:
            pending = next(chunk_iter, b"")
            if not pending:
                return out, feeds
        p = m(parse_message(m, pending))
        # Start it; a message that is already complete returns without calling oob().
        try:
            result = await_sync(p.aawait())
        except OOBData:
            result = None
            while result is None:
                chunk = next(chunk_iter, None)
                if chunk is None:
                    await_sync(p.aclose())
                    raise EOFError("truncated stream") from None
                feeds += 1
                result = await_sync(p.try_await(chunk))
        value, pending = result
        out.append(norm(value))


@pytest.mark.parametrize("size", SIZES)
def test_resp_await_sync(size: int) -> None:
    out, feeds = parse_all_sync(chunked(STREAM, size))
    assert out == [norm(v) for v in MESSAGES]
    if size == 1:
        assert feeds > len(STREAM) // 2


def test_resp_truncated_stream_closes_parser() -> None:
    with pytest.raises(EOFError):
        parse_all_sync(chunked(STREAM[:-3], 5))


def test_resp_start_pattern_sync() -> None:
    """``start()`` then ``try_await()`` until a value, exactly as the package page shows."""
    m: Monitor[tuple[Any, bytes]] = Monitor()
    msg = encode([b"a", 1, ["b"]])
    p = m(parse_message(m, b""))
    assert await_sync(p.start()) is None  # parser asked for data
    parsed = None
    for chunk in chunked(msg + b"+NEXT\r\n", 4):
        parsed = await_sync(p.try_await(chunk))
        if parsed is not None:
            break
    assert parsed is not None
    value, rest = parsed
    assert value == [b"a", 1, ["b"]]
    assert rest and b"+NEXT\r\n".startswith(rest)  # the next message has begun
    assert coro_is_finished(p.coro)


def test_resp_protocol_error_propagates() -> None:
    m: Monitor[tuple[Any, bytes]] = Monitor()
    p = m(parse_message(m, b"*2\r\n:1\r\n"))
    assert await_sync(p.start()) is None
    with pytest.raises(ProtocolError, match="bad type"):
        await_sync(p.try_await(b"?oops\r\n"))
    assert coro_is_finished(p.coro)
    # a bad chunk type raises inside the parser (TypeError from Reader._fill)
    p = m(parse_message(m, b""))
    await_sync(p.start())
    with pytest.raises(TypeError, match="expected bytes"):
        await_sync(p.try_await("text"))


def test_resp_io_error_thrown_into_parser() -> None:
    cleaned = []
    m: Monitor[tuple[Any, bytes]] = Monitor()

    async def guarded() -> tuple[Any, bytes]:
        try:
            return await parse_message(m, b"$10\r\nabc")
        except OSError:
            cleaned.append("io error seen")
            raise

    p = m(guarded())
    await_sync(p.start())
    err = ConnectionResetError("peer went away")
    with pytest.raises(ConnectionResetError) as ei:
        await_sync(p.athrow(err))
    assert ei.value is err and cleaned == ["io error seen"]


def test_resp_aclosing_abandoned_parser() -> None:
    closed = []
    m: Monitor[tuple[Any, bytes]] = Monitor()

    async def tracked() -> tuple[Any, bytes]:
        try:
            return await parse_message(m, b"*3\r\n")
        finally:
            closed.append(True)

    async def use() -> None:
        async with contextlib.aclosing(m(tracked())) as p:
            assert await p.start() is None
            assert await p.try_await(b":1\r\n") is None
            # give up before the message is complete

    await_sync(use())
    assert closed == [True]


# ---------------------------------------------------------------------------
# driving from asyncio: the bytes arrive from a StreamReader fed by another task
# ---------------------------------------------------------------------------


async def read_messages(stream: asyncio.StreamReader, chunk: int) -> list[Any]:
    m: Monitor[tuple[Any, bytes]] = Monitor()
    out: list[Any] = []
    pending = b""
    while True:
        if not pending:
            pending = await stream.read(chunk)
            if not pending:
                return out
        p = m(parse_message(m, pending))
        data = None  # the first drive starts the parser; later ones answer its oob()
        while True:
            try:
                value, pending = await p.aawait(data)
                break
            except OOBData:
                data = await stream.read(chunk)
                if not data:
                    await p.aclose()
                    raise EOFError("truncated") from None
        out.append(norm(value))


@pytest.mark.parametrize("size", [1, 5, 4096])
def test_resp_asyncio_stream(size: int, run: Any) -> None:
    async def main() -> list[Any]:
        stream = asyncio.StreamReader()

        async def network() -> None:
            for part in chunked(STREAM, 11):
                stream.feed_data(part)
                await asyncio.sleep(0)
            stream.feed_eof()

        feeder = asyncio.create_task(network())
        try:
            return await read_messages(stream, size)
        finally:
            await feeder

    assert run(main()) == [norm(v) for v in MESSAGES]


def test_resp_parser_awaits_the_loop_while_parsing(run: Any) -> None:
    """Ordinary awaits inside the parser pass straight through the monitor."""
    m: Monitor[tuple[Any, bytes]] = Monitor()

    async def slow_more() -> bytes:
        await asyncio.sleep(0)  # passes through to the event loop
        got: bytes = await m.oob()
        await asyncio.sleep(0.001)
        return got

    async def main() -> Any:
        r = Reader(slow_more)
        p = m(parse_value(r))
        assert await p.start() is None
        result = None
        for part in chunked(encode([b"abc", 7]), 3):
            result = await p.try_await(part, sentinel=None)
            if result is not None:
                break
        return result, r.requests

    value, requests = run(main())
    assert value == [b"abc", 7] and requests >= 5


def test_resp_cancelled_while_reading(run: Any) -> None:
    m: Monitor[tuple[Any, bytes]] = Monitor()
    events = []

    async def slow_more() -> bytes:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("parser saw cancel")
            raise
        return b""

    async def main() -> None:
        p = m(parse_value(Reader(slow_more)))
        t = asyncio.create_task(p.aawait())
        await asyncio.sleep(0.001)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert coro_is_finished(p.coro)
        assert await p.aclose() is None

    run(main())
    assert events == ["parser saw cancel"]


# ---------------------------------------------------------------------------
# the package page's line reader ``manager`` pattern
# ---------------------------------------------------------------------------


class Buffer:
    def __init__(self) -> None:
        self.data = ""

    def readline(self) -> str:
        i = self.data.find("\n")
        if i < 0:
            line, self.data = self.data, ""
        else:
            line, self.data = self.data[: i + 1], self.data[i + 1 :]
        return line

    def fill(self, s: str) -> None:
        self.data += s


class FakeIO:
    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    async def read(self) -> str:
        await asyncio.sleep(0)
        part = self.parts.pop(0)
        if isinstance(part, BaseException):
            raise part
        return str(part)


async def readline(m: Monitor[str], buffer: Buffer) -> str:
    line = buffer.readline()
    while not line.endswith("\n"):
        await m.oob(None)  # ask for more data in the buffer
        line += buffer.readline()
    return line


async def manager(buffer: Buffer, io_: FakeIO) -> str:
    m: Monitor[str] = Monitor()
    a = m(readline(m, buffer))
    while True:
        try:
            return await a
        except OOBData:
            try:
                buffer.fill(await io_.read())
            except Exception as exc:
                await a.athrow(exc)


def test_line_manager(run: Any) -> None:
    buf = Buffer()
    fio = FakeIO(["hel", "lo", " wor", "ld\nnext"])
    assert run(manager(buf, fio)) == "hello world\n"
    assert buf.data == "next"


def test_line_manager_io_error(run: Any) -> None:
    err = OSError("disk on fire")
    fio = FakeIO(["partial", err])
    with pytest.raises(OSError) as ei:
        run(manager(Buffer(), fio))
    assert ei.value is err


def test_line_reader_sync_from_file() -> None:
    src = io.StringIO("first line\nsecond line\nthird")
    buf = Buffer()
    m: Monitor[str] = Monitor()
    lines = []
    for _ in range(2):
        p = m(readline(m, buf))
        while True:
            try:
                lines.append(await_sync(p.aawait()))
                break
            except OOBData:
                buf.fill(src.read(4))
    assert lines == ["first line\n", "second line\n"]


# ---------------------------------------------------------------------------
# a GeneratorObject message stream: data in through asend(), messages out
# ---------------------------------------------------------------------------

NEED_DATA = object()


async def message_stream(go: GeneratorObject[Any, bytes]) -> None:
    """Yields every parsed message; yields NEED_DATA to be sent the next chunk."""

    async def more() -> bytes:
        return await go.ayield(NEED_DATA)  # type: ignore[no-any-return]

    r = Reader(more)
    while True:
        if not r.buf:
            chunk = await more()
            if chunk == b"":
                return
            r.buf = chunk
        value = await parse_value(r)
        got = await go.ayield(norm(value))
        assert got is None


def feed(it: Any, chunks: Iterable[bytes]) -> list[Any]:
    out = []
    item = await_sync(it.__anext__())
    for chunk in [*chunks, b""]:
        assert item is NEED_DATA
        try:
            item = await_sync(it.asend(chunk))
            while item is not NEED_DATA:
                out.append(item)
                item = await_sync(it.__anext__())
        except StopAsyncIteration:
            break
    return out


@pytest.mark.parametrize("size", SIZES)
def test_generator_object_stream_sync(size: int) -> None:
    go: GeneratorObject[Any, bytes] = GeneratorObject()
    assert feed(go(message_stream(go)), chunked(STREAM, size)) == [norm(v) for v in MESSAGES]


def test_generator_object_stream_asyncio(run: Any) -> None:
    async def main() -> list[Any]:
        go: GeneratorObject[Any, bytes] = GeneratorObject()
        it = go(message_stream(go))
        chunks = list(chunked(STREAM, 6)) + [b""]
        out = []
        item = await it.__anext__()
        async with contextlib.aclosing(it):
            while True:
                if item is NEED_DATA:
                    await asyncio.sleep(0)
                    try:
                        item = await it.asend(chunks.pop(0))
                    except StopAsyncIteration:
                        return out
                else:
                    out.append(item)
                    item = await it.__anext__()

    assert run(main()) == [norm(v) for v in MESSAGES]


def test_generator_object_stream_messages_only() -> None:
    """A wrapper generator hides the NEED_DATA protocol: aiter_sync over messages."""
    chunks = iter(chunked(STREAM, 9))

    async def messages(go: GeneratorObject[Any, Any]) -> None:
        inner: GeneratorObject[Any, bytes] = GeneratorObject()
        it = inner(message_stream(inner))
        item = await it.__anext__()
        while True:
            if item is NEED_DATA:
                try:
                    item = await it.asend(next(chunks, b""))
                except StopAsyncIteration:
                    return
            else:
                await go.ayield(item)
                item = await it.__anext__()

    go: GeneratorObject[Any, Any] = GeneratorObject()
    assert list(aiter_sync(go(messages(go)))) == [norm(v) for v in MESSAGES]


def test_generator_object_stream_abandoned(run: Any) -> None:
    closed = []

    async def main() -> None:
        go: GeneratorObject[Any, bytes] = GeneratorObject()

        async def body() -> None:
            try:
                await message_stream(go)
            finally:
                closed.append(True)

        it = go(body())
        assert await it.__anext__() is NEED_DATA
        assert await it.asend(b"+OK\r\n+PART") == "OK"
        del it  # abandoned mid-message: the loop's finalizer hook closes it
        for _ in range(3):
            await asyncio.sleep(0)

    run(main())
    assert closed == [True]

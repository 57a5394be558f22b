"""asynkit's benchmark: ns per operation for our API beside the stdlib floors, one run.

    python bench/run.py [--repeats 7] [--scale 1.0] [--cases REGEX]

Each case does N operations; the figure is the minimum over the repeats of elapsed/N (noise
only adds time). Ratios compare cases measured in this same run: the machine is noisy, so
never compare absolute times across runs. Every case checks its result, so a broken build
cannot look fast.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import sys
import time

import asynkit


async def trivial(x: int) -> int:
    return x


async def blocking(x: int) -> int:
    await asyncio.sleep(0)
    return x


async def nested(x: int) -> int:
    return await trivial(x) + await trivial(0)


CASES: dict[str, tuple[int, object]] = {}


def case(n: int):
    def deco(fn):
        CASES[fn.__name__] = (n, fn)
        return fn

    return deco


@case(200_000)
async def await_trivial(n):  # floor
    s = 0
    for i in range(n):
        s += await trivial(i)
    return s


@case(100_000)
async def await_nested(n):  # floor for await_sync
    s = 0
    for i in range(n):
        s += await nested(i)
    return s


@case(10_000)
async def await_blocking(n):  # floor for the *_blocking cases
    s = 0
    for i in range(n):
        s += await blocking(i)
    return s


@case(5_000)
async def create_task_await(n):  # floor
    s, ct = 0, asyncio.create_task
    for i in range(n):
        s += await ct(trivial(i))
    return s


@case(100_000)
async def corostart_done(n):
    s, CS = 0, asynkit.CoroStart
    for i in range(n):
        cs = CS(trivial(i))
        assert cs.done()
        s += cs.result()
    return s


@case(10_000)
async def corostart_blocking(n):
    s, CS = 0, asynkit.CoroStart
    for i in range(n):
        s += await CS(blocking(i))
    return s


@case(50_000)
async def eager_done(n):
    s, eager = 0, asynkit.eager
    for i in range(n):
        s += await eager(trivial(i))
    return s


@case(5_000)
async def eager_blocking(n):
    s, eager = 0, asynkit.eager
    for i in range(n):
        s += await eager(blocking(i))
    return s


@case(100_000)
def await_sync(n):
    s, aws = 0, asynkit.await_sync
    for i in range(n):
        s += aws(nested(i))
    return s


@case(300_000)
def coro_is_new(n):
    is_new, fresh, count = asynkit.coro_is_new, trivial(0), 0
    for _ in range(n):
        count += is_new(fresh)
    fresh.close()
    return count * (n - 1) // 2 if count == n else -1


@case(4_000)
async def create_task_await_blocking(n):  # floor
    s, ct = 0, asyncio.create_task
    for i in range(n):
        s += await ct(blocking(i))
    return s


@case(10_000)
async def eager_factory_done(n):
    asyncio.get_running_loop().set_task_factory(asynkit.eager_task_factory)
    s, ct = 0, asyncio.create_task
    for i in range(n):
        s += await ct(trivial(i))
    return s


@case(4_000)
async def eager_factory_blocking(n):
    asyncio.get_running_loop().set_task_factory(asynkit.eager_task_factory)
    s, ct = 0, asyncio.create_task
    for i in range(n):
        s += await ct(blocking(i))
    return s


def triangle(n: int) -> int:
    return n * (n - 1) // 2


async def sleepers(n: int) -> int:
    """100 tasks sharing n sleep(0) steps."""
    k = max(1, n // 100)

    async def worker() -> None:
        for _ in range(k):
            await asyncio.sleep(0)

    await asyncio.gather(*[asyncio.create_task(worker()) for _ in range(100)])
    return triangle(n)


@case(20_000)
async def sleep0_stock_loop(n):  # floor
    return await sleepers(n)


def _on_scheduling_loop(fn):
    def run(n):
        loop = asynkit.DefaultSchedulingEventLoop()
        try:
            return loop.run_until_complete(fn(n))
        finally:
            loop.close()

    run.__name__ = fn.__name__
    return run


@case(20_000)
@_on_scheduling_loop
async def sleep0_scheduling_loop(n):
    return await sleepers(n)


async def _spin(stop: list[bool]) -> None:
    while not stop:
        await asyncio.sleep(0)


@case(3_000)
async def sleep_insert(n):  # sleep_insert(1) with 50 runnable bystanders
    stop: list[bool] = []
    spinners = [asyncio.create_task(_spin(stop)) for _ in range(50)]
    await asyncio.sleep(0)
    for _ in range(n):
        await asynkit.sleep_insert(1)
    stop.append(True)
    await asyncio.gather(*spinners)
    return triangle(n)


@case(3_000)
async def task_switch(n):  # round trips between two tasks, one runnable bystander
    stop: list[bool] = []
    bystander = asyncio.create_task(_spin(stop))
    await asyncio.sleep(0)
    peers: list[asyncio.Task[None]] = []

    async def player(me: int) -> None:
        for _ in range(n):
            await asynkit.task_switch(peers[1 - me])

    peers[:] = [asyncio.create_task(player(0)), asyncio.create_task(player(1))]
    await asyncio.gather(*peers)
    stop.append(True)
    await bystander
    return triangle(n)


RATIOS = [
    ("corostart_done", "await_trivial", 1.3),
    ("eager_done", "await_trivial", 4.0),
    ("await_sync", "await_nested", 2.0),
    ("coro_is_new", "await_trivial", 0.65),
    ("corostart_blocking", "await_blocking", 1.05),
    ("eager_blocking", "create_task_await", None),
    ("eager_factory_done", "create_task_await", 0.23),
    ("eager_factory_blocking", "create_task_await_blocking", 1.0),
    ("sleep0_scheduling_loop", "sleep0_stock_loop", 1.02),
    ("sleep_insert", "sleep0_stock_loop", 2.7),
    ("task_switch", "sleep0_stock_loop", 2.6),
]


def measure(fn, n: int, repeats: int) -> float:
    best = float("inf")
    for r in range(repeats + 1):
        m = n // 10 if r == 0 else n  # first round: untimed warm-up
        gc.collect()
        if asyncio.iscoroutinefunction(fn):

            async def main(m=m):
                t0 = time.perf_counter_ns()
                out = await fn(m)
                return time.perf_counter_ns() - t0, out

            elapsed, out = asyncio.run(main())
        else:
            t0 = time.perf_counter_ns()
            out = fn(m)
            elapsed = time.perf_counter_ns() - t0
        if out != m * (m - 1) // 2:
            raise AssertionError(f"{fn.__name__}: wrong result {out}")
        if r:
            best = min(best, elapsed / m)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--cases", default="")
    args = ap.parse_args()
    info = asynkit.get_implementation_info()
    print(f"Python {sys.version.split()[0]}, asynkit engine: {info['implementation']}")
    results = {}
    for name, (n, fn) in CASES.items():
        if args.cases and not re.search(args.cases, name):
            continue
        results[name] = measure(fn, max(100, int(n * args.scale)), args.repeats)
        print(f"  {name:26s} {results[name]:9.1f} ns/op")
    print("ratios (same run):")
    for a, b, goal in RATIOS:
        if a in results and b in results:
            ratio = results[a] / results[b]
            target = f"target <= {goal}" if goal else ""
            flag = "" if goal is None else ("ok" if ratio <= goal else "MISSED")
            print(f"  {a:22s} / {b:26s} {ratio:6.2f}x  {target} {flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

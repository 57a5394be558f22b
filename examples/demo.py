"""A short tour: eager start ordering, await_sync, and which engine is running."""

import asyncio

import asynkit


async def child(log: list[str]) -> str:
    log.append("child starts (runs inside eager())")
    await asyncio.sleep(0)
    log.append("child resumes")
    return "child result"


async def main() -> None:
    log: list[str] = []
    log.append("parent before")
    awaitable = asynkit.eager(child(log))  # runs child() up to its first suspension now
    log.append("parent after eager()")
    log.append(await awaitable)
    print("eager start ordering:")
    for line in log:
        print("   ", line)


@asynkit.syncfunction
async def add(a: int, b: int) -> int:
    return a + b  # never suspends, so it can run without an event loop


if __name__ == "__main__":
    asyncio.run(main())
    print("await_sync:", add(2, 3))
    info = asynkit.get_implementation_info()
    print("implementation:", info["implementation"], info["build_info"])

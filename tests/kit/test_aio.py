"""Background loops end when cancelled, whatever the cancel interrupts."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shopmesh.kit.aio import retrying, wait_event

log = logging.getLogger("tests.aio")


async def _settle(rounds: int) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_wait_event_tells_a_set_event_from_a_timeout() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


@pytest.mark.parametrize("rounds", range(5))
async def test_a_cancel_arriving_as_the_event_is_set_still_cancels(rounds: int) -> None:
    # asyncio.wait_for (Python 3.11) returns the result and drops the cancel when
    # the inner wait finishes in the same loop iteration: the loop never ends.
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, 10))
    await _settle(1)
    event.set()
    await _settle(rounds)
    accepted = waiter.cancel()  # False only when the waiter had already returned
    await asyncio.gather(waiter, return_exceptions=True)
    assert waiter.cancelled() == accepted


async def test_retrying_logs_pauses_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("broker away")
        done.set()
        await asyncio.Event().wait()

    loop = asyncio.create_task(retrying(flaky, what="test loop", pause=0, log=log))
    async with asyncio.timeout(10):
        await done.wait()
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    assert loop.cancelled()
    assert calls == 3
    paused = [r.getMessage() for r in caplog.records if r.name == "tests.aio"]
    assert paused == ["test loop paused: ConnectionError: broker away"] * 2


async def test_retrying_ends_when_cleanup_fails_during_the_cancel() -> None:
    # A connection broken by the cancel fails in `finally`; the error replaces
    # the CancelledError. Retrying it as an outage would keep shutdown waiting forever.
    started = asyncio.Event()
    rounds = 0

    async def step() -> None:
        nonlocal rounds
        rounds += 1
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            raise ConnectionError("connection is closed")

    loop = asyncio.create_task(retrying(step, what="test loop", pause=0, log=log))
    await started.wait()
    loop.cancel()
    async with asyncio.timeout(10):
        await asyncio.gather(loop, return_exceptions=True)
    assert loop.cancelled()
    assert rounds == 1

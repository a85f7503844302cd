"""Background loops end when cancelled, whatever the cancel interrupts."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from shopmesh.kit.aio import Alarm, retrying, wait_event

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


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_an_alarm_sleeps_until_the_next_due_work_at_most_its_longest() -> None:
    alarm = Alarm(longest=0.05)
    async with asyncio.timeout(5):  # would take an hour if next_due were followed blindly
        await alarm.sleep(_in(3600))
    # Work due before the longest sleep ends it sooner (a test that must not take 30 s).
    alarm = Alarm(longest=30)
    async with asyncio.timeout(5):
        await alarm.sleep(_in(0.05))
        await alarm.sleep(_in(-1))  # overdue: at once


async def test_work_due_sooner_wakes_a_sleeping_alarm_and_later_work_does_not() -> None:
    alarm = Alarm(longest=30)
    sleeper = asyncio.create_task(alarm.sleep(_in(10)))
    await _settle(2)
    alarm.due(_in(20))  # after the planned wake: let it sleep
    await _settle(2)
    assert not sleeper.done()
    alarm.due(_in(1))  # before it: wake up and plan again
    async with asyncio.timeout(5):
        await sleeper


async def test_work_added_while_the_loop_works_makes_its_next_sleep_return_at_once() -> None:
    alarm = Alarm(longest=30)
    alarm.due(_in(20))  # not sleeping: the round's query may have missed it
    async with asyncio.timeout(5):
        await alarm.sleep(_in(10))
    sleeper = asyncio.create_task(alarm.sleep(None))  # and only once
    await _settle(2)
    assert not sleeper.done()
    alarm.ring()
    async with asyncio.timeout(5):
        await sleeper

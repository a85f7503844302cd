"""Circuit breaker, ejection and round-robin with a fake clock (no sockets)."""

from __future__ import annotations

from shopmesh.gateway.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from shopmesh.gateway.upstreams import InstancePool, Upstreams


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, open_for=10, clock=clock)


def test_breaker_opens_after_consecutive_failures_only() -> None:
    circuit = breaker(Clock())
    circuit.failure()
    circuit.failure()
    circuit.success()  # the count starts over
    circuit.failure()
    circuit.failure()
    assert circuit.allow()
    assert circuit.state == CLOSED
    circuit.failure()
    assert circuit.state == OPEN
    assert not circuit.allow()


def test_open_breaker_lets_one_probe_through_after_the_cool_down() -> None:
    clock = Clock()
    circuit = breaker(clock, threshold=1)
    circuit.failure()
    clock.now += 9.9
    assert not circuit.allow()
    clock.now += 0.1
    assert circuit.allow()  # the probe
    assert circuit.state == HALF_OPEN
    assert not circuit.allow()  # everyone else waits for its outcome
    circuit.success()
    assert circuit.state == CLOSED
    assert circuit.allow()
    assert circuit.allow()


def test_a_failed_probe_opens_the_breaker_for_another_cool_down() -> None:
    clock = Clock()
    circuit = breaker(clock, threshold=2)
    circuit.failure()
    circuit.failure()
    clock.now += 10
    assert circuit.allow()
    circuit.failure()
    assert circuit.state == OPEN
    clock.now += 9
    assert not circuit.allow()
    clock.now += 1
    assert circuit.allow()


def test_a_lost_probe_is_replaced_after_a_cool_down() -> None:
    clock = Clock()
    circuit = breaker(clock, threshold=1)
    circuit.failure()
    clock.now += 10
    assert circuit.allow()  # this probe never reports back
    clock.now += 5
    assert not circuit.allow()
    clock.now += 5
    assert circuit.allow()


def test_late_failures_of_requests_let_through_before_opening_do_not_extend_it() -> None:
    clock = Clock()
    circuit = breaker(clock, threshold=1)
    circuit.failure()
    clock.now += 6
    circuit.failure()
    clock.now += 4
    assert circuit.allow()


def pool(clock: Clock, *urls: str, eject_for: float = 10) -> InstancePool:
    return InstancePool(urls, breaker=breaker(clock), eject_for=eject_for, clock=clock)


def test_instances_are_picked_in_turn() -> None:
    instances = pool(Clock(), "http://a/", "http://b", "http://c")
    assert [instances.pick() for _ in range(4)] == ["http://a", "http://b", "http://c", "http://a"]


def test_an_ejected_instance_is_skipped_until_its_time_is_up() -> None:
    clock = Clock()
    instances = pool(clock, "http://a", "http://b")
    instances.eject("http://a")
    assert instances.ejected() == {"http://a"}
    assert [instances.pick() for _ in range(4)] == ["http://b"] * 4
    clock.now += 10
    assert {instances.pick() for _ in range(4)} == {"http://a", "http://b"}
    assert instances.ejected() == frozenset()


def test_when_every_instance_is_ejected_one_is_tried_anyway_but_never_for_a_retry() -> None:
    instances = pool(Clock(), "http://a", "http://b")
    instances.eject("http://a")
    instances.eject("http://b")
    assert instances.pick() in {"http://a", "http://b"}
    assert instances.pick(avoid="http://a") is None


def test_a_retry_goes_to_another_live_instance() -> None:
    instances = pool(Clock(), "http://a", "http://b", "http://c")
    instances.eject("http://b")
    assert instances.pick(avoid="http://a") == "http://c"
    assert pool(Clock(), "http://a").pick(avoid="http://a") is None


def test_ejection_can_be_switched_off() -> None:
    instances = pool(Clock(), "http://a", "http://b", eject_for=0)
    instances.eject("http://a")
    assert [instances.pick() for _ in range(2)] == ["http://a", "http://b"]


def test_a_new_instance_list_keeps_the_breaker_and_standing_ejections() -> None:
    clock = Clock()
    upstreams = Upstreams({"orders": ["http://a", "http://b"]}, failure_threshold=1, clock=clock)
    found = upstreams.pool("orders")
    assert found is not None
    found.eject("http://a")
    found.breaker.failure()
    upstreams.update("orders", ["http://a", "http://c"])
    assert upstreams.pool("orders") is found
    assert upstreams.urls("orders") == ("http://a", "http://c")
    assert found.ejected() == {"http://a"}
    assert found.breaker.state == OPEN
    upstreams.update("orders", ["http://c"])
    assert found.ejected() == frozenset()


def test_services_without_instances_have_nothing_to_pick() -> None:
    upstreams = Upstreams({"orders": [], "products": ["http://p"]})
    assert upstreams.pick("orders") is None
    assert upstreams.pick("nobody") is None
    assert upstreams.services() == {"products"}

"""The instance table's rules with a fake clock (no sockets, no sleeping)."""

from __future__ import annotations

import pytest

from shopmesh.registry.domain import (
    InstanceTable,
    RegistryFull,
    UnknownInstance,
    is_http_url,
    metadata_problem,
)


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def add(table: InstanceTable, service: str = "orders", instance_id: str = "orders-1") -> None:
    table.register(
        service,
        instance_id,
        url=f"http://{instance_id}:8086/",
        health_url=f"http://{instance_id}:8086/ready",
    )


def test_an_instance_is_live_until_it_misses_heartbeats_for_the_ttl() -> None:
    clock = Clock()
    table = InstanceTable(ttl=30, clock=clock)
    add(table)
    clock.now += 29.9
    assert [i.instance_id for i in table.live("orders")] == ["orders-1"]
    clock.now += 0.1
    assert table.live("orders") == []
    assert table.all_live() == {}


def test_a_heartbeat_restarts_the_ttl() -> None:
    clock = Clock()
    table = InstanceTable(ttl=30, clock=clock)
    add(table)
    clock.now += 20
    beat = table.heartbeat("orders", "orders-1")
    assert beat.last_heartbeat_at == clock.now
    assert beat.registered_at == clock.now - 20
    clock.now += 20
    assert len(table.live("orders")) == 1


def test_an_expired_instance_cannot_be_kept_alive_and_must_register_again() -> None:
    clock = Clock()
    table = InstanceTable(ttl=30, clock=clock)
    add(table)
    clock.now += 31
    with pytest.raises(UnknownInstance) as refused:
        table.heartbeat("orders", "orders-1")
    assert (refused.value.status, refused.value.code) == (404, "unknown_instance")
    _, created = table.register("orders", "orders-1", url="http://a:1", health_url="http://a:1/r")
    assert created


def test_registering_a_live_id_again_refreshes_it_and_keeps_its_first_registration() -> None:
    clock = Clock()
    table = InstanceTable(ttl=30, clock=clock)
    add(table)
    clock.now += 10
    instance, created = table.register(
        "orders", "orders-1", url="http://moved:9/", health_url="http://moved:9/ready"
    )
    assert not created
    assert instance.url == "http://moved:9"
    assert (instance.registered_at, instance.last_heartbeat_at) == (1_000.0, 1_010.0)
    assert [i.url for i in table.live("orders")] == ["http://moved:9"]


def test_the_sweep_evicts_only_expired_instances() -> None:
    clock = Clock()
    table = InstanceTable(ttl=30, clock=clock)
    add(table, instance_id="old")
    clock.now += 20
    add(table, instance_id="young")
    add(table, service="products", instance_id="p-1")
    clock.now += 15
    evicted = table.evict_expired()
    assert [i.instance_id for i in evicted] == ["old"]
    assert {s: [i.instance_id for i in v] for s, v in table.all_live().items()} == {
        "orders": ["young"],
        "products": ["p-1"],
    }


def test_deregistering_removes_the_instance_and_an_unknown_one_is_refused() -> None:
    table = InstanceTable(ttl=30, clock=Clock())
    add(table)
    add(table, instance_id="orders-2")
    assert table.deregister("orders", "orders-1").instance_id == "orders-1"
    assert [i.instance_id for i in table.live("orders")] == ["orders-2"]
    with pytest.raises(UnknownInstance):
        table.deregister("orders", "orders-1")


def test_the_table_is_bounded_but_expired_instances_make_room() -> None:
    clock = Clock()
    table = InstanceTable(ttl=30, clock=clock, max_instances=2)
    add(table, instance_id="a")
    add(table, instance_id="b")
    with pytest.raises(RegistryFull):
        add(table, instance_id="c")
    add(table, instance_id="a")  # refreshing a known id is always allowed
    clock.now += 31
    add(table, instance_id="c")
    assert [i.instance_id for i in table.live("orders")] == ["c"]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://10.0.0.5:8086", True),
        ("https://orders.internal/base", True),
        ("http://[::1]:8086", True),
        ("ftp://host/x", False),
        ("http://", False),
        ("orders:8086", False),
        ("http://user:pw@host", False),
        ("http://host:99999", False),
        ("http://host/a b", False),
        ("http://host/#frag", False),
        ("http://host/" + "x" * 2100, False),
    ],
)
def test_only_plain_http_urls_are_accepted(url: str, ok: bool) -> None:
    assert is_http_url(url) is ok


def test_metadata_limits() -> None:
    assert metadata_problem({"zone": "a"}) is None
    assert metadata_problem({f"k{i}": "v" for i in range(21)}) is not None
    assert metadata_problem({"": "v"}) is not None
    assert metadata_problem({"k": "v" * 257}) is not None

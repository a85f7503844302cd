"""How the suite shares the test broker, alone and in parallel (a pytest plugin loaded by
tests/conftest.py).

`make test` runs pytest on pytest-xdist's workers (``-n``), which pyproject's
``--dist loadgroup`` makes share the tests this way: each test module goes whole to one
worker (its module-scoped fixtures, e.g. a gateway process, start once), and every test on
the test broker goes to one group that one worker runs in collection order. The platform's
consumers (tests/contracts, tests/system) read the topics the per-service Kafka tests write
to: started before those tests, or beside them, they would count their events and answer
their orders. So the broker's tests run one at a time, the platform's after all the others,
and the platform starts once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling

KAFKA_GROUP = "kafka"


def _uses(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)  # around xdist's own, which reads the groups off the items
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """The broker's tests in one xdist group; the platform's last."""
    grouped = [item for item in items if _uses(item, "kafka_bootstrap")]
    for item in grouped:
        item.add_marker(pytest.mark.xdist_group(KAFKA_GROUP))
    items.sort(key=lambda item: _uses(item, "platform"))
    yield
    # xdist tells the controller a test's group in its node id; with pytest 9.2 that
    # silently does nothing (pytest-xdist#1386) and the platform would start on every worker.
    ours = f"@{KAFKA_GROUP}"
    if getattr(config.option, "loadgroup", False) and not all(
        item.nodeid.endswith(ours) for item in grouped
    ):
        raise pytest.UsageError("pytest-xdist did not group the Kafka tests (pytest-xdist#1386)")


class ModulesAndGroups(LoadGroupScheduling):
    """xdist's ``loadgroup``, but a test outside any group goes with the rest of its module
    (xdist sends those one test at a time, so each worker would start the module's
    fixtures again)."""

    def _split_scope(self, nodeid: str) -> str:
        scope = super()._split_scope(nodeid)
        return nodeid.split("::", 1)[0] if scope == nodeid else scope


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> ModulesAndGroups | None:
    if config.getvalue("dist") == "loadgroup":
        return ModulesAndGroups(config, log)
    return None

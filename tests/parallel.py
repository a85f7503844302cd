"""How the suite shares the test broker, alone and in parallel (a pytest plugin loaded by
tests/conftest.py).

`make test` runs pytest on pytest-xdist's workers (``-n``), which pyproject's
``--dist loadgroup`` makes share the tests this way: each test module goes whole to one
worker (its module-scoped fixtures, e.g. a gateway process, start once), and the tests on
the test broker go in three groups, each run whole by one worker in collection order:

- ``kafka``: the per-service Kafka tests. They run services on the broker's plain topic
  names with the services' own consumer groups, so one at a time.
- ``platform-ui`` and ``platform``: the whole-platform tests (the browser's, and the other
  system and contract tests), each group on a platform of its own (the session's
  ``platform`` fixture starts once per worker), in a Kafka namespace and databases of its
  own: the two platforms and the ``kafka`` tests run side by side without seeing each
  other's events.

The groups are the longest work of the run: they go to the workers first, one each, so two
platforms start at once on two workers (a worker with one of them never gets the other).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling
from xdist.workermanage import WorkerController

KAFKA_GROUP = "kafka"
# The browser's tests take about as long as all the other platform tests together.
UI_PLATFORM_GROUP = "platform-ui"
PLATFORM_GROUP = "platform"
# Handed out first, in this order (the longest first).
GROUPS = (UI_PLATFORM_GROUP, PLATFORM_GROUP, KAFKA_GROUP)
UI_TESTS = PurePosixPath("tests/system/ui")


def _uses(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


def group_of(item: pytest.Item) -> str | None:
    """The xdist group of ``item``: on a platform (which one), on the broker, or none."""
    if _uses(item, "platform"):
        path = PurePosixPath(item.nodeid.split("::", 1)[0])
        return UI_PLATFORM_GROUP if path.is_relative_to(UI_TESTS) else PLATFORM_GROUP
    if _uses(item, "kafka_bootstrap"):
        return KAFKA_GROUP
    return None


@pytest.hookimpl(wrapper=True)  # around xdist's own, which reads the groups off the items
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """The broker's tests in their groups."""
    grouped = [(item, group) for item in items if (group := group_of(item)) is not None]
    for item, group in grouped:
        item.add_marker(pytest.mark.xdist_group(group))
    yield
    # xdist tells the controller a test's group in its node id; with pytest 9.2 that
    # silently does nothing (pytest-xdist#1386) and the groups would run side by side with
    # themselves (per-service Kafka tests on one topic, a platform started per module).
    if getattr(config.option, "loadgroup", False) and not all(
        item.nodeid.endswith(f"@{group}") for item, group in grouped
    ):
        raise pytest.UsageError("pytest-xdist did not group the Kafka tests (pytest-xdist#1386)")


class ModulesAndGroups(LoadGroupScheduling):
    """xdist's ``loadgroup``, but a test outside any group goes with the rest of its module
    (xdist sends those one test at a time, so each worker would start the module's
    fixtures again), and the groups go out first, the longest first."""

    def _split_scope(self, nodeid: str) -> str:
        scope = super()._split_scope(nodeid)
        return nodeid.split("::", 1)[0] if scope == nodeid else scope

    def _assign_work_unit(self, node: WorkerController) -> None:
        for group in reversed(GROUPS):
            if group in self.workqueue:
                self.workqueue.move_to_end(group, last=False)
        super()._assign_work_unit(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> ModulesAndGroups | None:
    if config.getvalue("dist") == "loadgroup":
        return ModulesAndGroups(config, log)
    return None

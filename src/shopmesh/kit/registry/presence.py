"""Keeping one instance registered: register, heartbeat, register again, deregister."""

from __future__ import annotations

import asyncio
import logging

from shopmesh.kit.aio import cancelling
from shopmesh.kit.registry.client import Registration, RegistryClient, RegistryError

log = logging.getLogger(__name__)

_FIRST_RETRY = 0.5


class Presence:
    """Keeps one instance registered while :meth:`run` runs; deregisters it when cancelled."""

    def __init__(
        self,
        client: RegistryClient,
        registration: Registration,
        *,
        interval: float,
        first_retry: float = _FIRST_RETRY,
    ) -> None:
        self.registration = registration
        self.registered = False
        self._client = client
        self._interval = interval
        self._first_retry = min(first_retry, interval)
        self._failing = False

    async def run(self) -> None:
        """Heartbeat every ``interval``; while the registry is down, retry sooner (backing off)."""
        retry = self._first_retry
        try:
            while True:
                if await self._beat_safely():
                    retry, delay = self._first_retry, self._interval
                else:
                    delay, retry = retry, min(retry * 2, self._interval)
                await asyncio.sleep(delay)
        finally:
            await self.leave()

    async def beat(self) -> bool:
        """One heartbeat, or a (re-)registration; ``False`` when the registry did not answer."""
        reg = self.registration
        try:
            if self.registered:
                if await self._client.heartbeat(reg.service, reg.instance_id):
                    self._recovered()
                    return True
                log.info("the registry forgot this instance; registering again")
                self.registered = False
            await self._client.register(reg)
        except RegistryError as exc:
            if not self._failing:
                log.warning("registry unavailable, retrying in the background: %s", exc)
            self._failing = True
            return False
        self.registered = True
        self._recovered()
        log.info("registered", extra={"instance": reg.instance_id, "url": reg.url})
        return True

    async def _beat_safely(self) -> bool:
        # A bug in one round must not end the loop: the instance would silently expire.
        try:
            return await self.beat()
        except Exception as exc:
            if cancelling():
                raise asyncio.CancelledError from exc
            log.exception("registration round failed")
            return False

    async def leave(self) -> None:
        """Deregister (best effort, short timeout)."""
        if not self.registered:
            return
        self.registered = False
        reg = self.registration
        try:
            await self._client.deregister(reg.service, reg.instance_id)
        except RegistryError as exc:
            log.warning("could not deregister (the registry will expire us): %s", exc)

    def _recovered(self) -> None:
        if self._failing:
            log.info("registry reachable again")
        self._failing = False

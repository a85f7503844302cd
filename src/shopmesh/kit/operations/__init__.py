"""The operator's side of every service with a database: its state, its dead letters
(listed, shown, replayed, discarded) and its part of a subject's story, as an
administrators-only API under ``/api/ops`` (the gateway routes ``/api/ops/<service>/``
there). The app factory serves it (:data:`shopmesh.kit.operations.api.router`).
"""

from __future__ import annotations

from shopmesh.kit.operations.deadletters import DeadLetter, DeadLetterOffice

__all__ = ["DeadLetter", "DeadLetterOffice"]

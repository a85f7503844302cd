"""The AsyncAPI document: generated from the typed events, committed and served current, and
valid against the AsyncAPI 3.0 JSON Schema published by the AsyncAPI project
(``@asyncapi/specs``, installed with the UI's packages by ``make test``)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from shopmesh.asyncapi import asyncapi_document
from shopmesh.catalog import PRODUCED, TOPIC_KEYS, event_type_of
from shopmesh.gateway.app import ASYNCAPI_FILE

ROOT = Path(__file__).parents[1]
SPEC = ROOT / "web" / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"


def test_the_committed_asyncapi_document_matches_the_code() -> None:
    committed = json.loads(ASYNCAPI_FILE.read_text())
    assert committed == json.loads(json.dumps(asyncapi_document())), (
        "src/shopmesh/gateway/asyncapi.json is stale: run "
        "`uv run shopmesh asyncapi > src/shopmesh/gateway/asyncapi.json`"
    )


def test_the_document_is_valid_asyncapi_3() -> None:
    if not SPEC.exists():
        pytest.fail(f"{SPEC} is missing: `scripts/web.sh build` installs it (npm ci)")
    spec = json.loads(SPEC.read_text())
    validator = jsonschema.Draft7Validator(spec)
    errors = sorted(validator.iter_errors(asyncapi_document()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_a_broken_document_is_caught_by_the_same_check() -> None:
    spec = json.loads(SPEC.read_text())
    broken = asyncapi_document()
    broken["operations"]["orders-sends-order-events"]["action"] = "publish"  # AsyncAPI 2 word
    assert not jsonschema.Draft7Validator(spec).is_valid(broken)


def test_every_event_has_its_message_channel_and_key() -> None:
    document = asyncapi_document()
    messages = document["components"]["messages"]
    for event in PRODUCED:
        name = event_type_of(event)
        assert name in document["channels"][event.topic]["messages"]
        assert messages[name]["bindings"]["kafka"]["key"]["description"] == TOPIC_KEYS[event.topic]
        required = messages[name]["payload"]["schema"]["required"]
        assert {"event_id", "event_type", "occurred_at", "producer"} <= set(required)
        assert f"{event.topic}.dlq" in document["channels"]

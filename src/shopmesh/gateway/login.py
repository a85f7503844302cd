"""Who a login body says is signing in, read exactly as the auth service reads it.

The per-identity login limit must key on what auth will check. Auth's body
parse (FastAPI) is the standard library's ``json.loads`` on the bytes, which
accepts a UTF-8 byte order mark and ``NaN``; a stricter parser here (orjson)
saw no username in such bodies, and the limit never tripped. Both
``username`` and ``email`` are identities (auth signs in with either).
"""

from __future__ import annotations

import json
from typing import Any

_IDENTITY_KEYS = ("username", "email")


def login_identities(body: bytes) -> list[str]:
    """The identities a login body names (stripped, case-folded); none if it is not such JSON.

    Lenient on purpose: a malformed body is the auth service's to refuse.
    """
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return []
    if not isinstance(data, dict):
        return []
    found = []
    for key in _IDENTITY_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            found.append(value.strip().casefold())
    return found

"""Who an HTTP request is: the Runway key it brings (or the server's own), checked against the
server's access token, and the ids derived from a key with a secret of this process."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Mapping, Optional

from .settings import Settings


class Refused(Exception):
    """An HTTP request without the credentials this server asks for; the message says what to send."""


def request_key(headers: Optional[Mapping[str, str]], settings: Settings) -> Optional[str]:
    """The Runway key an HTTP request brings: `Authorization: Bearer <key>`, or `X-Runway-Key` when
    the bearer token is the server's access token. None: the server's own key (stdio, or HTTP
    without a key where the server allows it). Raises Refused."""
    if headers is None:
        return None
    auth = headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    own = (headers.get("x-runway-key") or "").strip() or None
    if settings.access_token:
        if bearer is None or not hmac.compare_digest(bearer.encode(), settings.access_token.encode()):
            raise Refused("this server needs its access token: Authorization: Bearer <token>")
        key = own
    else:
        key = bearer or own
    if key is None and settings.require_key:
        raise Refused("this server needs your Runway key: Authorization: Bearer <key>"
                      + (" with the access token, and X-Runway-Key: <key>" if settings.access_token else ""))
    return key


# A secret of this process's own: what is derived from a key with it can be neither searched for
# offline (an id in a log line) nor made to collide on purpose (the pool's index).
_SECRET = os.urandom(32)


def _keyed(purpose: bytes, key: str) -> str:
    return hmac.new(_SECRET, purpose + b"\0" + key.encode(), hashlib.sha256).hexdigest()


def key_id(key: Optional[str]) -> str:
    """A short id of a key for log lines: the same for one key within this process, unlinkable to
    the key and to other processes' ids (never the key)."""
    return "server" if key is None else _keyed(b"log", key)[:12]


def pool_key(key: str) -> str:
    """The pool's index of a key: the whole HMAC, so that no two keys share a service."""
    return _keyed(b"pool", key)

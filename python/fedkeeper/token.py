"""The tokens that sign every invocation (protocol §2).

A token is the hex HMAC-SHA256, under the token key's UTF-8 bytes, of the parts each
preceded by its length in bytes as an 8-byte big-endian number, so no two lists of
parts sign alike ("a|b", "1" is not "a", "b|1").
"""

from __future__ import annotations

import hashlib
import hmac

from .errors import InvalidToken

INVALID = "invalid token: the call did not come from this experiment's keeper"
NO_KEY = "invalid token: this function has no key (deploy it with FedKeeper)"


def sign(key: str, *parts: str) -> str:
    """The token of parts under key."""
    mac = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")  # a lone surrogate cannot verify, nor crash
        mac.update(len(data).to_bytes(8, "big"))
        mac.update(data)
    return mac.hexdigest()


def verify(key: str, token: str, *parts: str) -> None:
    """Check a token in constant time; without a key every token is refused."""
    if not key:
        raise InvalidToken(NO_KEY)
    if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8"), sign(key, *parts).encode("utf-8")):
        raise InvalidToken(INVALID)

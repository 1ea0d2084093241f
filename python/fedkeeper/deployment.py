"""What a function learns from its deployment rather than from a request (protocol §1).

The token key, the MongoDB address (with its password) and the tensor directory reach a
function through its platform's own mechanism: OpenWhisk ``init`` parameters and Cloud
Functions secret environment variables arrive as environment variables, OpenFaaS
secrets as files in ``$FEDKEEPER_SECRETS_DIR`` (default ``/var/openfaas/secrets``).
The environment variable wins; a secret file's content is trimmed of white space.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping

from .errors import FedKeeperError

SECRETS_DIR_ENV = "FEDKEEPER_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/var/openfaas/secrets"

TOKEN_KEY = "token-key"
MONGO_URI = "mongo-uri"
RELAY_TARGETS = "relay-targets"
TENSOR_DIR = "tensor-dir"

# The settings that are secret; the tensor directory is a plain environment variable.
SECRET_SETTINGS = (TOKEN_KEY, MONGO_URI, RELAY_TARGETS)


def env_name(setting: str) -> str:
    """The setting's environment variable, e.g. FEDKEEPER_TOKEN_KEY."""
    return "FEDKEEPER_" + setting.replace("-", "_").upper()


def secret_name(setting: str) -> str:
    """The setting's secret, e.g. fedkeeper-token-key; "" for one that is not secret."""
    return "" if setting == TENSOR_DIR else "fedkeeper-" + setting


def lookup(setting: str, environ: Mapping[str, str] | None = None) -> str:
    """A setting's value: its environment variable, else its secret file, else ""."""
    env = os.environ if environ is None else environ
    value = env.get(env_name(setting), "")
    if value:
        return value
    secret = secret_name(setting)
    if not secret:
        return ""
    folder = env.get(SECRETS_DIR_ENV, "") or DEFAULT_SECRETS_DIR
    try:
        with open(os.path.join(folder, secret), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class Deployment:
    """What a function was deployed with."""

    token_key: str = ""
    mongo_uri: str = ""
    tensor_dir: str = ""
    # Relayed clusters ("platform/cluster") to their client's endpoint; the relay's only.
    relay: Mapping[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> "Deployment":
        """Read the deployment from the environment and the secret files."""
        relay: dict = {}
        raw = lookup(RELAY_TARGETS, environ)
        if raw:
            problem = f"deployment: {env_name(RELAY_TARGETS)} is not a JSON object of targets"
            try:
                relay = json.loads(raw)
            except ValueError as err:
                raise FedKeeperError(f"{problem}: {err}") from err
            if not isinstance(relay, dict):
                raise FedKeeperError(problem)
        return cls(token_key=lookup(TOKEN_KEY, environ), mongo_uri=lookup(MONGO_URI, environ),
                   tensor_dir=lookup(TENSOR_DIR, environ), relay=relay)


NO_STORE_MESSAGE = ("this function was deployed without a MongoDB address (FEDKEEPER_MONGO_URI); "
                    "deploy it with FedKeeper, or relay its weights")

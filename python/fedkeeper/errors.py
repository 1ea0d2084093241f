"""The errors the SDK raises: each names what failed, and its class says why.

A client function's entry points turn any of them into the protocol's error answer
(``{"error": message}``); the classes let callers and tests tell refusals, damaged
weights and refused updates apart, as the Go SDK's sentinel errors do.
"""

from __future__ import annotations


class FedKeeperError(Exception):
    """Anything the SDK refuses or fails at."""

    def with_context(self, prefix: str) -> "FedKeeperError":
        """The same error, of the same class, its message preceded by prefix."""
        err = type(self)(f"{prefix}: {self}")
        err.__cause__ = self
        return err


class Refused(FedKeeperError):
    """A request that is not a well-formed, signed FedKeeper invocation."""


class InvalidToken(Refused):
    """A missing or wrong token, or a function deployed without a key."""


class Expired(Refused):
    """A request presented after its expiry."""


class InvalidTask(FedKeeperError):
    """A task whose values the client cannot run (a missing experiment, round 0, …)."""


class Damaged(FedKeeperError):
    """Stored or relayed weights that fail their checks: size, checksum or values."""


class NotFound(FedKeeperError):
    """Weights that are not stored (yet)."""


class NoStore(FedKeeperError):
    """A function that needs MongoDB and was deployed without its address."""


class StoreError(FedKeeperError):
    """MongoDB or the tensor directory failed."""


class UpdateRefused(FedKeeperError):
    """An update the store refuses; the store is left as it was."""


class RoundClosed(UpdateRefused):
    """The update's round is already aggregated (a late client)."""


class Superseded(UpdateRefused):
    """A later attempt's update is stored."""


class AttemptStored(UpdateRefused):
    """This attempt's update is stored with other content."""


class TrainError(FedKeeperError):
    """The client's own training failed, or reported an unusable update."""

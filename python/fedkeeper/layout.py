"""Where weights live in the store (protocol §4 and §5): the names of descriptions,
blobs, chunk collections and tensor files, as the Go weight store derives them.
"""

from __future__ import annotations

import hashlib

# An object above this many bytes gets a collection of its own (or a tensor file).
OWN_COLLECTION_ABOVE = 256 << 10
# The most bytes one chunk document holds.
CHUNK_SIZE = 4 << 20
# How many shared collections hold the chunks of small objects.
CHUNK_SHARDS = 256
# A description whose bytes are a file in the tensor directory.
WHERE_FILE = "file"


def global_id(experiment: str, version: int) -> str:
    """The _id of a global version's description."""
    return f"{experiment}/v{version}"


def update_id(experiment: str, round_: int, client: int) -> str:
    """The _id of a client's update description for a round."""
    return f"{experiment}/r{round_}/c{client}"


def round_id(experiment: str, round_: int) -> str:
    """The _id of a round's state in <collection>_rounds."""
    return f"{experiment}/r{round_}"


def blob_name(collection: str, key: str) -> str:
    """The name of an object's bytes, derived from key."""
    return collection + "_blob_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def update_blob(collection: str, experiment: str, round_: int, client: int, attempt: int,
                checksum: str) -> tuple[str, str]:
    """An update's blob: what its name is derived from, and the name. Each attempt and
    content has bytes of its own."""
    key = f"{update_id(experiment, round_, client)}/a{attempt}/{checksum[:16]}"
    return key, blob_name(collection, key)


def shard_of(collection: str, blob: str) -> str:
    """The shared collection that holds a small object's chunks."""
    first = hashlib.sha256(blob.encode("utf-8")).digest()[0]
    return f"{collection}_chunks_{first % CHUNK_SHARDS:02x}"


def chunk_id(blob: str, n: int) -> str:
    """The _id of chunk n of a small object."""
    return f"{blob}#{n}"


def chunk_location(collection: str, blob: str, size: int, n: int) -> tuple[str, object]:
    """The collection and _id of chunk n of an object of size bytes named blob."""
    if size > OWN_COLLECTION_ABOVE:
        return blob, n
    return shard_of(collection, blob), chunk_id(blob, n)


def chunk_count(size: int) -> int:
    """How many chunks hold size bytes (an empty object has one, empty)."""
    return max(1, -(-size // CHUNK_SIZE))


def tensor_file_name(blob: str, checksum: str) -> str:
    """The name of an object's file in a tensor directory."""
    return blob + "." + checksum[:16]

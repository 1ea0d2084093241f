"""A tensor directory: large parameter vectors as files beside MongoDB (protocol §4, §5).

The description in MongoDB stays the record, with the bytes' SHA-256, so a reader still
refuses a file that is missing, truncated or changed. A file is written atomically
(a temporary file, synced, renamed), so a reader sees all of it or none.
"""

from __future__ import annotations

import os
import tempfile

from .errors import Damaged, StoreError


class TensorFiles:
    """One tensor directory, created (private to its owner) when missing."""

    def __init__(self, folder: str) -> None:
        self.dir = os.path.abspath(folder)
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
        except OSError as err:
            raise StoreError(f"weights: tensor directory: {err}") from err

    def path(self, name: str) -> str:
        """The path of a stored file name, refusing names that leave the directory."""
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise Damaged(f"weights: damaged: tensor file name {name!r}")
        return os.path.join(self.dir, name)

    def put(self, name: str, data: bytes) -> None:
        """Write data under name atomically."""
        final = self.path(name)
        fd, tmp = -1, ""
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-" + name + "-", dir=self.dir)
            with os.fdopen(fd, "wb") as f:
                fd = -1
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
            tmp = ""
        except OSError as err:
            raise StoreError(f"weights: write tensor file {name}: {err}") from err
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp:
                _remove(tmp)

    def get(self, name: str) -> bytes:
        """The bytes of the file stored under name."""
        p = self.path(name)
        try:
            with open(p, "rb") as f:
                return f.read()
        except FileNotFoundError as err:
            raise Damaged(f"weights: damaged: tensor file {name} missing from {self.dir}") from err
        except OSError as err:
            raise StoreError(f"weights: read tensor file {name}: {err}") from err

    def drop(self, name: str) -> None:
        """Remove the file stored under name; one already gone is fine."""
        _remove(self.path(name))


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise StoreError(f"weights: drop tensor file: {err}") from err

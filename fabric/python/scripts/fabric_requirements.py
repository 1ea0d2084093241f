"""Which packages of a requirements.txt this interpreter cannot import.

The local fabric cannot pip install (no package index is reachable), so where a real
platform installs a function's requirements, the fabric checks that the interpreter
already has them. A requirement counts as there when a distribution of that name is
installed or a module of that name (dashes and dots as underscores) is importable.
Version specifiers and environment markers are not evaluated; option lines (-r, -e,
--index-url ...) are skipped.

Usage: python3 fabric_requirements.py REQUIREMENTS_TXT [PROVIDED ...]
prints the missing names as a JSON list; PROVIDED names count as there.
"""

import importlib.metadata
import importlib.util
import json
import os
import re
import sys

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical(name):
    """The name as package indexes compare names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def names(path):
    """The requirement names a requirements.txt lists, in order."""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith(("#", "-")):
                continue
            match = _NAME.match(line)
            if match:
                yield match.group(0)


def installed(name):
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    module = re.sub(r"[-.]", "_", name)
    return any(importlib.util.find_spec(m) is not None for m in (module, module.lower()))


def missing(path, provided=()):
    """The names of path's requirements the interpreter lacks; none without a file."""
    if not os.path.exists(path):
        return []
    given = {canonical(p) for p in provided}
    return [n for n in names(path) if canonical(n) not in given and not installed(n)]


if __name__ == "__main__":
    print(json.dumps(missing(sys.argv[1], sys.argv[2:])))

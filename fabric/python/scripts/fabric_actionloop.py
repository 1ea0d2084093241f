"""OpenWhisk's Python action launcher, as the local fabric runs it.

Usage: python3 fabric_actionloop.py MAIN_FILE FUNCTION

It loads MAIN_FILE (the action's __main__.py) with its folder first on sys.path (after
activating the folder's virtualenv/, as OpenWhisk's Python runtime does, or else
checking its requirements.txt, which the fabric cannot pip install), then speaks the
actionloop protocol: {"ok": true} on file descriptor 3 when __OW_WAIT_FOR_ACK is set;
then for each JSON line on stdin, FUNCTION is called with its "value" (every other key
K becomes the environment variable __OW_<K upper-cased>) and its result goes back as
one JSON line on fd 3. An exception's traceback goes to stderr and the result is
{"error": str(exception)}. The fabric frames each activation's logs itself.
"""

import importlib.util
import json
import os
import sys
import traceback

import fabric_requirements


def activate_virtualenv(folder):
    """Runs the folder's virtualenv/bin/activate_this.py, if it has a virtualenv."""
    venv = os.path.join(folder, "virtualenv")
    if not os.path.isdir(venv):
        return False
    script = os.path.join(venv, "bin", "activate_this.py")
    if not os.path.exists(script):
        sys.exit("Invalid virtualenv. Zip file does not include 'activate_this.py'.")
    with open(script, encoding="utf-8") as f:
        exec(compile(f.read(), script, "exec"), {"__file__": script})
    return True


def load(path, name):
    """The function name of the action's code at path."""
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    if not activate_virtualenv(folder):
        lacking = fabric_requirements.missing(os.path.join(folder, "requirements.txt"))
        if lacking:
            sys.exit("requirements.txt asks for %s, which this interpreter cannot import "
                     "(the local fabric cannot pip install)" % ", ".join(lacking))
    spec = importlib.util.spec_from_file_location("main__", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    function = getattr(module, name, None)
    if not callable(function):
        sys.exit("The action's %s has no function %s" % (os.path.basename(path), name))
    return function


def answer(out, result):
    out.write(json.dumps(result, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


def serve(function):
    out = os.fdopen(3, "wb")
    if os.environ.get("__OW_WAIT_FOR_ACK", ""):
        answer(out, {"ok": True})
    for line in sys.stdin:
        request = json.loads(line)
        value = {}
        for key in request:
            if key == "value":
                value = request[key]
            else:
                os.environ["__OW_" + key.upper()] = request[key]
        try:
            result = function(value)
        except Exception as ex:
            print(traceback.format_exc(), file=sys.stderr)
            result = {"error": str(ex)}
        sys.stdout.flush()
        sys.stderr.flush()
        answer(out, result)


if __name__ == "__main__":
    serve(load(sys.argv[1], sys.argv[2]))

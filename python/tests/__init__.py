"""The Python SDK's tests: /usr/bin/python3 -m unittest discover, in python/."""

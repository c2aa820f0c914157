"""Shared pieces of the hostile-input tests: what a clean failure is, and case counting."""

import collections
import json
import os
import pathlib

CLEAN_ERRORS = (ValueError, TypeError, FileNotFoundError, NotADirectoryError)
CASES = collections.Counter()


def outcome(entry_point, function, *args, **kwargs):
    """Call `function`; a result or a clean, non-empty error is fine. Anything else fails.

    Returns the result, or None after a clean error. Counts the case for the report.
    """
    CASES[entry_point] += 1
    try:
        return function(*args, **kwargs)
    except CLEAN_ERRORS as error:
        message = str(error)
        assert message.strip(), f"{entry_point}: {type(error).__name__} without a message"
        assert "Traceback" not in message
        return None


def write_report():
    path = os.environ.get("KERASGAN_HOSTILE_REPORT")
    if path and CASES:
        previous = json.loads(pathlib.Path(path).read_text()) if pathlib.Path(path).exists() else {}
        previous.update(CASES)
        pathlib.Path(path).write_text(json.dumps(previous, indent=1, sort_keys=True))

"""Number checks shared by the CLI (argparse `type=`) and the API entry points.

argparse types (`positive_int`, `non_negative_int`, `positive_float`, `fraction`) make a bad
value a usage error naming the flag (exit 2) before anything is imported; the `check_*`
functions raise ValueError/TypeError naming the argument for API callers. Booleans are not
numbers here (`count=True` is refused), nor are non-integral floats where an int is meant
(`count=2.5`), nor NaN/inf.
"""

import argparse
import math
import numbers


def _as_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) \
                and float(value).is_integer():
            return int(value)
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def check_int(value, name, minimum=1):
    """`value` as an int >= `minimum`, else TypeError (not an integer) / ValueError (too small)."""
    number = _as_int(value, name)
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return number


def check_float(value, name, minimum=0.0, inclusive=False, maximum=None, maximum_inclusive=True):
    """`value` as a finite float above `minimum` (or equal, with `inclusive`), at most `maximum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if number < minimum or (number == minimum and not inclusive):
        relation = "at least" if inclusive else "greater than"
        raise ValueError(f"{name} must be {relation} {minimum:g}, got {value!r}")
    if maximum is not None and (number > maximum or (number == maximum and not maximum_inclusive)):
        relation = "at most" if maximum_inclusive else "less than"
        raise ValueError(f"{name} must be {relation} {maximum:g}, got {value!r}")
    return number


def _argparse_type(convert, description):
    def parse(text):
        try:
            return convert(text)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(f"{description} expected, got {text!r}") from error
    parse.__name__ = description
    return parse


def _int_from_text(text, minimum):
    number = int(text, 10)
    if number < minimum:
        raise ValueError(number)
    return number


def _float_from_text(text, minimum, inclusive, maximum=None):
    number = float(text)
    if not math.isfinite(number) or number < minimum or (number == minimum and not inclusive):
        raise ValueError(number)
    if maximum is not None and number > maximum:
        raise ValueError(number)
    return number


positive_int = _argparse_type(lambda t: _int_from_text(t, 1), "an integer >= 1")
non_negative_int = _argparse_type(lambda t: _int_from_text(t, 0), "an integer >= 0")
positive_float = _argparse_type(lambda t: _float_from_text(t, 0.0, False), "a finite number > 0")
non_negative_float = _argparse_type(lambda t: _float_from_text(t, 0.0, True), "a finite number >= 0")
fraction = _argparse_type(lambda t: _float_from_text(t, 0.0, False, 1.0), "a number in (0, 1]")

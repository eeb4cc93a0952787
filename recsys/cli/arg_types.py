"""What the commands' arguments may hold: argparse number types, ``--param key=value`` and the error for
arguments that do not fit together."""

from __future__ import annotations

import argparse
import json


class UsageError(ValueError):
    """Arguments that do not fit together; ``visrec`` prints the message and exits with status 2."""


def _number(text: str, kind, low, high, low_open=False, high_open=False):
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        lo = "" if low is None else f"{'above' if low_open else 'at least'} {low}"
        hi = "" if high is None else f"{'below' if high_open else 'at most'} {high}"
        raise argparse.ArgumentTypeError(f"must be {' and '.join(x for x in (lo, hi) if x)}, got {v}")
    return v


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return _number(text, int, 1, None)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return _number(text, int, 0, None)


def open_fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    return _number(text, float, 0.0, 1.0, low_open=True, high_open=True)


def unit_interval(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    return _number(text, float, 0.0, 1.0)


def parse_params(items) -> dict:
    """``--param key=value`` items as a dict (values parsed as JSON where they are JSON)."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise UsageError(f"--param expects key=value, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out

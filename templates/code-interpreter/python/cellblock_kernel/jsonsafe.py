"""Conversion of Python/numpy/pandas values into plain JSON values.

Jupyter messages are serialised as JSON and the agent parses them strictly, so
everything the formatters emit must survive ``json.dumps(..., allow_nan=False)``:
numpy scalars become Python scalars, dates become ISO strings and NaN/NaT/inf
become ``None``.
"""

import datetime
import decimal
import json
import math
import sys


class NotJsonable(TypeError):
    """Raised in strict mode for a value that has no JSON equivalent."""


def _numpy():
    # numpy is optional: only look at it when the user (or install()) loaded it.
    return sys.modules.get("numpy")


def _is_missing(value):
    """True for NaN-like singletons such as pandas.NaT and pandas.NA."""
    pandas = sys.modules.get("pandas")
    if pandas is None:
        return False
    return value is pandas.NaT or value is getattr(pandas, "NA", object())


def datetime64_to_iso(value):
    """ISO string of a numpy datetime64, or None for NaT."""
    numpy = _numpy()
    if numpy.isnat(value):
        return None
    as_python = value.astype("datetime64[us]").item()
    if isinstance(as_python, (datetime.date, datetime.datetime)):
        return as_python.isoformat()
    # Out of datetime's range: numpy still has a textual form.
    return str(value)


def _from_numpy_scalar(value, strict):
    numpy = _numpy()
    if isinstance(value, numpy.bool_):
        return bool(value)
    if isinstance(value, numpy.integer):
        return int(value)
    if isinstance(value, numpy.floating):
        return to_json_number(float(value))
    if isinstance(value, numpy.datetime64):
        return datetime64_to_iso(value)
    if isinstance(value, numpy.str_):
        return str(value)
    if isinstance(value, numpy.timedelta64):
        return None if numpy.isnat(value) else str(value)
    if strict:
        raise NotJsonable(type(value).__name__)
    return str(value)


def to_json_number(value):
    """A finite float/int as a Python number; NaN and infinities as None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def to_json_key(key, strict):
    """Dictionary keys must be strings in JSON (spelled the way json.dumps does)."""
    if isinstance(key, str):
        return key
    converted = to_json_value(key, strict)
    if isinstance(converted, str):
        return converted
    if isinstance(converted, (dict, list)):
        if strict:
            raise NotJsonable(type(key).__name__)
        return str(key)
    return json.dumps(converted)


def to_json_value(value, strict=True):
    """Recursively convert ``value`` into JSON-compatible Python objects.

    strict=True raises NotJsonable for objects without a JSON form (used by the
    application/json formatter, which then falls back to IPython's default);
    strict=False stringifies them (used for DataFrame cells, which may hold any
    object).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return to_json_number(value)
    if _is_missing(value):
        return None
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {to_json_key(k, strict): to_json_value(v, strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, strict) for v in value]
    numpy = _numpy()
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return [to_json_value(v, strict) for v in value.tolist()]
        if isinstance(value, numpy.generic):
            return _from_numpy_scalar(value, strict)
    if isinstance(value, decimal.Decimal):
        return to_json_number(value)
    if isinstance(value, datetime.timedelta):
        return str(value)
    if strict:
        raise NotJsonable(type(value).__name__)
    return str(value)

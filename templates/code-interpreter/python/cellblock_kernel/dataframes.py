"""DataFrame → ``e2b/data`` payload: ``to_dict(orient="list")`` made strict-JSON safe."""

from .jsonsafe import to_json_key, to_json_value


def dataframe_to_data(frame):
    """Column name → list of cell values, with ISO timestamps, None for NaN/NaT and
    Python scalars in place of numpy ones."""
    columns = frame.to_dict(orient="list")
    return {
        to_json_key(name, strict=False): [to_json_value(cell, strict=False) for cell in cells]
        for name, cells in columns.items()
    }

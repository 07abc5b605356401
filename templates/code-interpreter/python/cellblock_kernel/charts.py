"""Chart extraction from matplotlib figures (the ``e2b/chart`` MIME type).

Implements the chart JSON schema of the E2B wire contract (spec e2b-api.md §8):
one chart object per Axes, typed from the artists the Axes holds, or a
``superchart`` wrapping one chart per Axes when the figure has several.
Every field of a chart type is always present; unset values are ``None``.
All numbers are plain Python numbers so the result is strict-JSON safe.
"""

import math
import re

from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle, Wedge
from matplotlib.text import Text

from .jsonsafe import datetime64_to_iso, to_json_number

LINE = "line"
SCATTER = "scatter"
BAR = "bar"
PIE = "pie"
BOX_AND_WHISKER = "box_and_whisker"
SUPERCHART = "superchart"
UNKNOWN = "unknown"

# "Time (s)" -> "s", "Temperature [°C]" -> "°C": the unit is a bracketed suffix.
_UNIT_PATTERN = re.compile(r"^.*?\s*(?:\(([^()]*)\)|\[([^\[\]]*)\])\s*$", re.DOTALL)
_CHILD_LABEL = re.compile(r"^_child(\d+)$")
_CONTAINER_LABEL = re.compile(r"^_container(\d+)$")

# Relative tolerance when matching artist coordinates computed by matplotlib.
_REL_TOL = 1e-9


def chart_from_figure(figure):
    """The chart dict for a Figure, or None when the figure draws nothing."""
    axes = list(figure.get_axes())
    if not axes or all(not _plotted_children(ax) for ax in axes):
        return None
    if len(axes) > 1:
        return {
            "type": SUPERCHART,
            "title": _suptitle(figure),
            "elements": [chart_from_axes(ax) for ax in axes],
        }
    return chart_from_axes(axes[0])


def chart_from_axes(ax):
    """The chart dict describing one Axes."""
    chart_type = detect_chart_type(ax)
    builder = _BUILDERS.get(chart_type)
    if builder is None:
        return {"type": UNKNOWN, "title": _axes_title(ax), "elements": []}
    return builder(ax)


def detect_chart_type(ax):
    """Chart type of an Axes from its children, ignoring Text artists (§8 table)."""
    children = _plotted_children(ax)
    if not children:
        # An empty Axes next to real plots in a superchart describes nothing.
        return UNKNOWN
    if all(isinstance(c, Line2D) for c in children):
        return LINE
    if all(isinstance(c, (PathPatch, Line2D)) for c in children):
        return BOX_AND_WHISKER
    # Reference lines (axhline, axvline, ...) do not change what the plot is.
    children = [c for c in children if not (isinstance(c, Line2D) and is_grid_line(c))]
    if all(isinstance(c, PathCollection) for c in children):
        return SCATTER
    if all(isinstance(c, Wedge) for c in children):
        return PIE
    if all(isinstance(c, Rectangle) for c in children):
        return BAR
    return UNKNOWN


def is_grid_line(line):
    """A two-point horizontal or vertical line, as drawn by axhline/axvline."""
    xs = list(line.get_xdata(orig=True))
    ys = list(line.get_ydata(orig=True))
    if len(xs) != 2 or len(ys) != 2:
        return False
    return bool(xs[0] == xs[1] or ys[0] == ys[1])


def parse_unit(label):
    """Unit from a label of the form "Name (unit)" or "Name [unit]", else None."""
    if not label:
        return None
    match = _UNIT_PATTERN.match(label)
    if not match:
        return None
    unit = match.group(1) if match.group(1) is not None else match.group(2)
    unit = unit.strip()
    return unit or None


# --- shared pieces ---------------------------------------------------------------------


def _children(ax):
    children = getattr(ax, "_children", None)
    if children is None:  # matplotlib < 3.5 kept artists in per-kind lists
        children = [*ax.lines, *ax.collections, *ax.patches, *ax.images, *ax.texts, *ax.artists]
    return list(children)


def _plotted_children(ax):
    return [c for c in _children(ax) if not isinstance(c, Text)]


def _text_or_none(text):
    text = str(text) if text is not None else ""
    return text if text != "" else None


def _axes_title(ax):
    # The centred title is the usual one; fall back to the side titles.
    for loc in ("center", "left", "right"):
        title = _text_or_none(ax.get_title(loc=loc))
        if title is not None:
            return title
    return None


def _suptitle(figure):
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is None:
        return None
    return _text_or_none(suptitle.get_text())


def _base(chart_type, ax):
    return {"type": chart_type, "title": _axes_title(ax)}


def _add_axis_labels(chart, ax, swap=False):
    x_label = _text_or_none(ax.get_xlabel())
    y_label = _text_or_none(ax.get_ylabel())
    if swap:
        x_label, y_label = y_label, x_label
    chart["x_label"] = x_label
    chart["y_label"] = y_label
    chart["x_unit"] = parse_unit(x_label)
    chart["y_unit"] = parse_unit(y_label)


def _converter(axis):
    getter = getattr(axis, "get_converter", None)
    if getter is not None:
        return getter()
    return getattr(axis, "converter", None)


def _is_datetime_axis(axis):
    from matplotlib import dates

    converter = _converter(axis)
    date_converters = tuple(
        cls
        for cls in (
            getattr(dates, "DateConverter", None),
            getattr(dates, "ConciseDateConverter", None),
            getattr(dates, "_SwitchableDateConverter", None),
        )
        if cls is not None
    )
    if converter is not None and isinstance(converter, date_converters):
        return True
    formatter = axis.get_major_formatter()
    return isinstance(formatter, (dates.DateFormatter, dates.AutoDateFormatter, dates.ConciseDateFormatter))


def _is_categorical_axis(axis):
    from matplotlib import category

    return isinstance(_converter(axis), category.StrCategoryConverter) or isinstance(
        getattr(axis, "units", None), category.UnitData
    )


def axis_scale(axis):
    """One of linear, datetime, categorical, log, symlog, logit, function, functionlog, asinh."""
    if _is_datetime_axis(axis):
        return "datetime"
    if _is_categorical_axis(axis):
        return "categorical"
    return axis.get_scale()


def _date_number_to_iso(number):
    from matplotlib import dates

    return dates.num2date(float(number)).isoformat()


def _axis_ticks(axis, scale):
    ticks = axis.get_majorticklocs()
    if scale == "datetime":
        values = [_date_number_to_iso(t) for t in ticks if math.isfinite(float(t))]
    else:
        values = [to_json_number(float(t)) for t in ticks]
    labels = [str(label.get_text()) for label in axis.get_majorticklabels()]
    return values, labels


def _add_point_axes(chart, ax):
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        scale = axis_scale(axis)
        ticks, labels = _axis_ticks(axis, scale)
        chart[f"{name}_ticks"] = ticks
        chart[f"{name}_tick_labels"] = labels
        chart[f"{name}_scale"] = scale


def _point_value(value, datetime_axis):
    """One coordinate of a point as a JSON number or string."""
    import datetime

    import numpy

    if value is None or value is numpy.ma.masked:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, numpy.datetime64):
        return datetime64_to_iso(value)
    if isinstance(value, numpy.str_):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if datetime_axis and math.isfinite(number):
        # Numeric data on a date axis are matplotlib date numbers.
        return _date_number_to_iso(number)
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    # Like E2B, coordinates are reported as floats (0 -> 0.0).
    return to_json_number(number)


def _values(data):
    """Artist data as a list (rows for 2-D data), masked entries as None."""
    import numpy

    if isinstance(data, numpy.ma.MaskedArray):
        return numpy.ma.filled(data.astype(object), None).tolist()
    if isinstance(data, numpy.ndarray) and data.ndim > 1:
        return list(data.tolist())
    return list(data)


def _series_label(artist, ax, prefix):
    """The artist's label, or "<prefix> <n>" for matplotlib's internal "_..." labels."""
    label = artist.get_label()
    label = "" if label is None else str(label)
    if not label.startswith("_"):
        return label
    match = _CHILD_LABEL.match(label)
    if match:
        number = int(match.group(1))
    else:
        children = _children(ax)
        number = children.index(artist) if artist in children else 0
    return f"{prefix} {number}"


# --- line and scatter -----------------------------------------------------------------


def _line_chart(ax):
    chart = _base(LINE, ax)
    _add_axis_labels(chart, ax)
    _add_point_axes(chart, ax)
    x_dates = chart["x_scale"] == "datetime"
    y_dates = chart["y_scale"] == "datetime"
    elements = []
    for line in ax.get_lines():
        xs = _values(line.get_xdata(orig=True))
        ys = _values(line.get_ydata(orig=True))
        points = [[_point_value(x, x_dates), _point_value(y, y_dates)] for x, y in zip(xs, ys)]
        elements.append({"label": _series_label(line, ax, "Line"), "points": points})
    chart["elements"] = elements
    return chart


def _category_names(axis):
    units = getattr(axis, "units", None)
    mapping = getattr(units, "_mapping", None)
    if not mapping:
        return {}
    return {int(v): str(k) for k, v in mapping.items()}


def _scatter_coordinate(value, scale, categories):
    if value is None:
        return None
    if scale == "categorical":
        rounded = round(float(value))
        if math.isclose(float(value), rounded, abs_tol=1e-9) and rounded in categories:
            return categories[rounded]
    return _point_value(value, scale == "datetime")


def _scatter_chart(ax):
    chart = _base(SCATTER, ax)
    _add_axis_labels(chart, ax)
    _add_point_axes(chart, ax)
    x_categories = _category_names(ax.xaxis)
    y_categories = _category_names(ax.yaxis)
    elements = []
    for collection in ax.collections:
        if not isinstance(collection, PathCollection):
            continue
        offsets = collection.get_offsets()
        points = []
        for x, y in _values(offsets):
            points.append(
                [
                    _scatter_coordinate(x, chart["x_scale"], x_categories),
                    _scatter_coordinate(y, chart["y_scale"], y_categories),
                ]
            )
        elements.append({"label": _series_label(collection, ax, "Line"), "points": points})
    chart["elements"] = elements
    return chart


# --- bar ------------------------------------------------------------------------------


def _position_label(axis, position):
    """The category name (tick label) drawn at ``position`` on a category axis."""
    categories = _category_names(axis)
    if categories:
        rounded = round(position)
        if math.isclose(position, rounded, abs_tol=1e-9) and rounded in categories:
            return categories[rounded]
    if _is_datetime_axis(axis):
        return _date_number_to_iso(position)
    ticks = list(axis.get_majorticklocs())
    labels = [label.get_text() for label in axis.get_majorticklabels()]
    for tick, label in zip(ticks, labels):
        if label and math.isclose(float(tick), position, rel_tol=_REL_TOL, abs_tol=1e-12):
            return str(label)
    return f"{position:g}"


def _bar_orientation(container):
    orientation = getattr(container, "orientation", None)
    if orientation in ("vertical", "horizontal"):
        return orientation
    heights = [p.get_height() for p in container.patches]
    widths = [p.get_width() for p in container.patches]
    if len(set(heights)) == 1 and len(set(widths)) > 1:
        return "horizontal"
    return "vertical"


def _group_label(container, index):
    label = container.get_label()
    label = "" if label is None else str(label)
    if label and not label.startswith("_"):
        return label
    match = _CONTAINER_LABEL.match(label)
    return f"Group {int(match.group(1)) if match else index}"


def _bar_chart(ax):
    chart = _base(BAR, ax)
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    horizontal = bool(containers) and _bar_orientation(containers[0]) == "horizontal"
    # The category axis is reported as x (E2B swaps the labels for barh charts).
    _add_axis_labels(chart, ax, swap=horizontal)
    elements = []
    for index, container in enumerate(containers):
        group = _group_label(container, index)
        is_horizontal = _bar_orientation(container) == "horizontal"
        for patch in container.patches:
            if is_horizontal:
                position = patch.get_y() + patch.get_height() / 2
                value = patch.get_width()
                label = _position_label(ax.yaxis, float(position))
            else:
                position = patch.get_x() + patch.get_width() / 2
                value = patch.get_height()
                label = _position_label(ax.xaxis, float(position))
            elements.append({"label": label, "group": group, "value": to_json_number(float(value))})
    chart["elements"] = elements
    return chart


# --- pie ------------------------------------------------------------------------------


def _pie_chart(ax):
    chart = _base(PIE, ax)
    elements = []
    for wedge in ax.patches:
        if not isinstance(wedge, Wedge):
            continue
        label = wedge.get_label()
        label = "" if label is None or str(label).startswith("_") else str(label)
        sweep = abs(float(wedge.theta2) - float(wedge.theta1))
        elements.append(
            {
                "label": label,
                "angle": to_json_number(round(sweep, 4)),
                "radius": to_json_number(float(wedge.r)),
            }
        )
    chart["elements"] = elements
    return chart


# --- box and whisker ------------------------------------------------------------------


def _close(a, b, span):
    return math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=max(abs(span), 1.0) * 1e-9)


def _is_marker_only(line):
    return line.get_linestyle() in ("None", "none", "", " ")


def _two_point_segments(ax):
    """(xs, ys) of every 2-point line: boxplot whiskers, caps, medians."""
    segments = []
    for line in ax.get_lines():
        if _is_marker_only(line):
            continue  # two fliers are points, not a segment
        xy = line.get_xydata()
        if len(xy) == 2:
            segments.append(([float(v) for v in xy[:, 0]], [float(v) for v in xy[:, 1]]))
    return segments


def _box_frame(box, vertical):
    """(pos_lo, pos_hi, val_lo, val_hi): the box path's extent along the position
    axis and the value axis. Notches may reach beyond the quartiles."""
    vertices = box.get_path().vertices
    xs = [float(v) for v in vertices[:, 0]]
    ys = [float(v) for v in vertices[:, 1]]
    if vertical:
        return min(xs), max(xs), min(ys), max(ys)
    return min(ys), max(ys), min(xs), max(xs)


def _centre_segments(box, segments, vertical):
    """(start, end) along the value axis of the segments drawn at the box's centre
    position; boxplot draws each whisker from a quartile outwards there."""
    pos_lo, pos_hi, _, _ = _box_frame(box, vertical)
    centre = (pos_lo + pos_hi) / 2
    found = []
    for xs, ys in segments:
        pos, val = (xs, ys) if vertical else (ys, xs)
        if _close(pos[0], centre, pos_hi - pos_lo) and _close(pos[1], centre, pos_hi - pos_lo):
            found.append((val[0], val[1]))
    return found


def _whiskers_leaving_box(box, segments, vertical):
    _, _, val_lo, val_hi = _box_frame(box, vertical)
    count = 0
    for start, end in _centre_segments(box, segments, vertical):
        if val_lo <= start <= val_hi and (end < val_lo or end > val_hi):
            count += 1
    return count


def _box_vertical(boxes, segments):
    """Upright boxes (boxplot's default) unless the artists say sideways."""
    widths = {round(_box_frame(b, True)[1] - _box_frame(b, True)[0], 9) for b in boxes}
    heights = {round(_box_frame(b, False)[1] - _box_frame(b, False)[0], 9) for b in boxes}
    if len(boxes) > 1 and len(widths) == 1 and len(heights) > 1:
        return True
    if len(boxes) > 1 and len(heights) == 1 and len(widths) > 1:
        return False
    upright = sum(_whiskers_leaving_box(b, segments, True) for b in boxes)
    sideways = sum(_whiskers_leaving_box(b, segments, False) for b in boxes)
    return upright >= sideways


def _box_statistics(box, segments, vertical):
    """(min, q1, q3, max) from the whiskers; the box extent when they are missing."""
    _, _, val_lo, val_hi = _box_frame(box, vertical)
    centre_segments = _centre_segments(box, segments, vertical)
    lower = [(s, e) for s, e in centre_segments if e < s]
    upper = [(s, e) for s, e in centre_segments if e > s]
    flat = sorted(s for s, e in centre_segments if e == s)
    if lower:
        q1, low = lower[0]
    elif flat:
        q1 = low = flat[0]
    else:
        q1 = low = val_lo
    if upper:
        q3, high = upper[0]
    elif flat:
        q3 = high = flat[-1]
    else:
        q3 = high = val_hi
    return low, q1, q3, high


def _median(box, segments, vertical, q1, q3):
    pos_lo, pos_hi, _, _ = _box_frame(box, vertical)
    slack = abs(pos_hi - pos_lo) * 1e-9
    candidates = []
    for xs, ys in segments:
        pos, val = (xs, ys) if vertical else (ys, xs)
        if val[0] != val[1] or not (q1 <= val[0] <= q3):
            continue
        if min(pos) < pos_lo - slack or max(pos) > pos_hi + slack:
            continue
        candidates.append(val[0])
    # Caps sit on a quartile only when a whisker is empty; prefer a value inside.
    inside = [v for v in candidates if v not in (q1, q3)]
    if inside:
        return inside[0]
    return candidates[-1] if candidates else None


def _outliers(box, ax, vertical):
    pos_lo, pos_hi, _, _ = _box_frame(box, vertical)
    outliers = []
    for line in ax.get_lines():
        if not _is_marker_only(line):
            continue
        xy = line.get_xydata()
        if len(xy) == 0:
            continue
        pos = xy[:, 0] if vertical else xy[:, 1]
        val = xy[:, 1] if vertical else xy[:, 0]
        if all(pos_lo <= float(p) <= pos_hi for p in pos):
            outliers.extend(to_json_number(float(v)) for v in val)
    return outliers


def _box_chart(ax):
    chart = _base(BOX_AND_WHISKER, ax)
    boxes = [p for p in ax.patches if isinstance(p, PathPatch)]
    segments = _two_point_segments(ax)
    vertical = _box_vertical(boxes, segments)
    # As for bars, the category axis is reported as x.
    _add_axis_labels(chart, ax, swap=not vertical)
    position_axis = ax.xaxis if vertical else ax.yaxis
    elements = []
    for box in boxes:
        pos_lo, pos_hi, _, _ = _box_frame(box, vertical)
        low, q1, q3, high = _box_statistics(box, segments, vertical)
        median = _median(box, segments, vertical, q1, q3)
        elements.append(
            {
                "label": _position_label(position_axis, (pos_lo + pos_hi) / 2),
                "min": to_json_number(low),
                "first_quartile": to_json_number(q1),
                "median": None if median is None else to_json_number(median),
                "third_quartile": to_json_number(q3),
                "max": to_json_number(high),
                "outliers": _outliers(box, ax, vertical),
            }
        )
    chart["elements"] = elements
    return chart


_BUILDERS = {
    LINE: _line_chart,
    SCATTER: _scatter_chart,
    BAR: _bar_chart,
    PIE: _pie_chart,
    BOX_AND_WHISKER: _box_chart,
}

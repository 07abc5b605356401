"""IPython display formatters for the E2B-specific MIME types.

A formatter runs inside every display of the user's cell, so none of them may
raise: any failure yields None (the MIME type is simply left out of the bundle)
instead of a traceback in the user's output.
"""

from IPython.core.formatters import BaseFormatter, JSONFormatter
from traitlets import ObjectName, Unicode

from .jsonsafe import NotJsonable, to_json_value

CHART_MIME = "e2b/chart"
DATA_MIME = "e2b/data"
JSON_MIME = "application/json"

# Formats the inline backend renders figures into; a chart only travels with one of them.
_IMAGE_MIMES = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")


class _SafeFormatter(BaseFormatter):
    """BaseFormatter that only uses registered printers and never raises."""

    _return_type = (dict,)
    # No _repr_*_ protocol: only the types registered by install() are formatted.
    print_method = ObjectName("_repr_cellblock_unused_")

    def __call__(self, obj):
        if not self.enabled:
            return None
        try:
            printer = self.lookup(obj)
        except KeyError:
            return None
        try:
            result = printer(obj)
        except Exception:  # noqa: BLE001 - a formatter must never break the cell
            return None
        return result if isinstance(result, dict) else None


class DataFormatter(_SafeFormatter):
    format_type = Unicode(DATA_MIME)


class ChartFormatter(_SafeFormatter):
    """``e2b/chart`` for matplotlib Figures, added next to the inline backend's image.

    Only figures that also get an image in the same bundle are described, i.e.
    figures shown through the inline backend's registered Figure formatters.
    """

    format_type = Unicode(CHART_MIME)

    def __call__(self, obj):
        try:
            if not self._figure_has_image(obj):
                return None
        except Exception:  # noqa: BLE001
            return None
        return super().__call__(obj)

    def _figure_has_image(self, figure):
        display_formatter = self.parent
        if display_formatter is None:
            return True
        formatters = getattr(display_formatter, "formatters", {})
        for mime in _IMAGE_MIMES:
            image_formatter = formatters.get(mime)
            if image_formatter is None or not image_formatter.enabled:
                continue
            try:
                image_formatter.lookup(figure)
            except KeyError:
                continue
            return True
        return False


class JsonFormatter(JSONFormatter):
    """``application/json`` for dict and list results, like E2B's kernel profile.

    Other values keep IPython's default behaviour (only ``_repr_json_``), so
    ``1 + 1`` still produces text/plain alone. Containers holding values with no
    JSON form (arbitrary objects) get no JSON output.
    """

    def __call__(self, obj):
        if isinstance(obj, (dict, list)):
            try:
                return to_json_value(obj, strict=True), {"expanded": True}
            except (NotJsonable, RecursionError, ValueError, TypeError):
                pass
            except Exception:  # noqa: BLE001
                return None
        try:
            return super().__call__(obj)
        except Exception:  # noqa: BLE001
            return None


def register(shell, chart_printer, data_printer):
    """Install the three formatters on ``shell.display_formatter``.

    Printers are registered by module and class name so that neither pandas nor
    matplotlib has to be importable for the formatters to be installed.
    """
    display_formatter = shell.display_formatter
    formatters = display_formatter.formatters

    data = DataFormatter(parent=display_formatter)
    data.for_type_by_name("pandas.core.frame", "DataFrame", data_printer)
    formatters[DATA_MIME] = data

    chart = ChartFormatter(parent=display_formatter)
    chart.for_type_by_name("matplotlib.figure", "Figure", chart_printer)
    formatters[CHART_MIME] = chart

    previous = formatters.get(JSON_MIME)
    json_formatter = JsonFormatter(parent=display_formatter)
    if previous is not None:
        # Keep printers that other libraries registered on the stock formatter.
        json_formatter.singleton_printers.update(previous.singleton_printers)
        json_formatter.type_printers.update(previous.type_printers)
        json_formatter.deferred_printers.update(previous.deferred_printers)
        json_formatter.enabled = previous.enabled
    formatters[JSON_MIME] = json_formatter

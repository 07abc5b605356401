"""Kernel start-up for cellblock's Python contexts.

The agent starts ipykernel with
``--IPKernelApp.exec_lines=import cellblock_kernel; cellblock_kernel.install()``.
install() pre-imports the data stack and registers the display formatters that
make a cell's results look like E2B's (``e2b/chart``, ``e2b/data``,
``application/json`` for dicts and lists, PIL images shown as PNG).

install() prints nothing and never raises: a broken optional package must not
stop the kernel from starting.
"""

import contextlib
import io
import time
import warnings

__all__ = ["install", "install_report"]

# Filled by install(): what was imported, what was set up and how long it took.
install_report = {
    "installed": False,
    "imported": [],
    "missing": [],
    "import_seconds": 0.0,
    "setup_seconds": 0.0,
    "captured_output": "",
    "errors": [],
}

_DATA_STACK = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot")


def _import_data_stack():
    import importlib

    for name in _DATA_STACK:
        try:
            importlib.import_module(name)
            install_report["imported"].append(name)
        except Exception as error:  # noqa: BLE001 - any of them may be absent or broken
            install_report["missing"].append(f"{name}: {type(error).__name__}")


def _chart_printer(figure):
    from .charts import chart_from_figure

    return chart_from_figure(figure)


def _data_printer(frame):
    from .dataframes import dataframe_to_data

    return dataframe_to_data(frame)


def _setup(shell):
    from . import formatters, pil_display

    if shell is not None:
        formatters.register(shell, _chart_printer, _data_printer)
    pil_display.patch_pil()
    # Load the chart code now so the first plt.show() does not pay for it.
    try:
        from . import charts  # noqa: F401
    except Exception as error:  # noqa: BLE001 - matplotlib missing
        install_report["errors"].append(f"charts: {type(error).__name__}")


def _get_shell():
    try:
        from IPython import get_ipython
    except Exception:  # noqa: BLE001
        return None
    return get_ipython()


def install():
    """Prepare the running IPython kernel; safe to call more than once."""
    if install_report["installed"]:
        return None
    captured = io.StringIO()
    try:
        # Anything a library prints or warns while loading would reach the
        # client as a stream message; keep it here instead.
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                started = time.perf_counter()
                _import_data_stack()
                imported = time.perf_counter()
                try:
                    _setup(_get_shell())
                except Exception as error:  # noqa: BLE001
                    install_report["errors"].append(f"setup: {type(error).__name__}: {error}")
                finished = time.perf_counter()
        install_report["import_seconds"] = imported - started
        install_report["setup_seconds"] = finished - imported
        install_report["installed"] = True
    except BaseException as error:  # noqa: BLE001 - the kernel must start regardless
        install_report["errors"].append(f"install: {type(error).__name__}")
    install_report["captured_output"] = captured.getvalue()
    return None

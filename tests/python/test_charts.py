"""Chart extraction (e2b/chart, spec e2b-api.md §8) and DataFrame data (e2b/data).

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/python -v
"""

import datetime
import json
import math
import os
import sys
import unittest

_PACKAGE_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "templates", "code-interpreter", "python"
)
sys.path.insert(0, os.path.normpath(_PACKAGE_DIR))

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - Debian's python3 has matplotlib
    plt = None

try:
    import numpy as np
    import pandas as pd
except ImportError:  # pragma: no cover
    np = pd = None

POINT_KEYS = {
    "type",
    "title",
    "elements",
    "x_label",
    "y_label",
    "x_unit",
    "y_unit",
    "x_ticks",
    "x_tick_labels",
    "x_scale",
    "y_ticks",
    "y_tick_labels",
    "y_scale",
}
TWO_D_KEYS = {"type", "title", "elements", "x_label", "y_label", "x_unit", "y_unit"}


def strict_json(value):
    """Round-trip through strict JSON, as the agent will parse it."""
    return json.loads(json.dumps(value, allow_nan=False))


def assert_plain_json_types(test, value, path="$"):
    """Only dict/list/str/bool/None/int/float (no numpy scalars) anywhere."""
    if isinstance(value, dict):
        for key, item in value.items():
            test.assertIsInstance(key, str, path)
            assert_plain_json_types(test, item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_plain_json_types(test, item, f"{path}[{index}]")
    else:
        test.assertIn(type(value), (str, bool, int, float, type(None)), f"{path}: {type(value)!r}")
        if isinstance(value, float):
            test.assertTrue(math.isfinite(value), path)


@unittest.skipIf(plt is None, "matplotlib is not installed")
class ChartTest(unittest.TestCase):
    def setUp(self):
        from cellblock_kernel.charts import chart_from_figure

        self.extract = chart_from_figure

    def tearDown(self):
        plt.close("all")

    def chart(self, figure):
        chart = self.extract(figure)
        self.assertIsNotNone(chart)
        assert_plain_json_types(self, chart)
        self.assertEqual(strict_json(chart), chart)
        return chart

    def test_line_chart_labels_units_ticks(self):
        figure, ax = plt.subplots()
        ax.plot([0, 5, 10], [0.0, 0.5, -1.0], label="sin")
        ax.plot(np.array([1, 2, 3]), np.array([3.5, 2.5, 1.5]))
        ax.set_title("Signal")
        ax.set_xlabel("Time (s)")
        ax.set_ylabel("Amplitude [V]")
        ax.set_xticks([0, 5, 10])
        chart = self.chart(figure)

        self.assertEqual(chart["type"], "line")
        self.assertEqual(set(chart), POINT_KEYS)
        self.assertEqual(chart["title"], "Signal")
        self.assertEqual((chart["x_label"], chart["x_unit"]), ("Time (s)", "s"))
        self.assertEqual((chart["y_label"], chart["y_unit"]), ("Amplitude [V]", "V"))
        self.assertEqual(chart["x_ticks"], [0.0, 5.0, 10.0])
        self.assertEqual(chart["x_tick_labels"], ["0", "5", "10"])
        self.assertEqual(chart["x_scale"], "linear")
        self.assertEqual(chart["y_scale"], "linear")
        self.assertEqual(len(chart["y_ticks"]), len(chart["y_tick_labels"]))
        self.assertTrue(all(isinstance(t, float) for t in chart["y_ticks"]))
        self.assertEqual(
            chart["elements"],
            [
                {"label": "sin", "points": [[0.0, 0.0], [5.0, 0.5], [10.0, -1.0]]},
                {"label": "Line 1", "points": [[1.0, 3.5], [2.0, 2.5], [3.0, 1.5]]},
            ],
        )

    def test_unset_fields_are_null(self):
        figure, ax = plt.subplots()
        ax.plot([1, 2], [3, 4])
        chart = self.chart(figure)
        for key in ("title", "x_label", "y_label", "x_unit", "y_unit"):
            self.assertIn(key, chart)
            self.assertIsNone(chart[key], key)
        self.assertEqual(chart["elements"][0]["label"], "Line 0")

    def test_units_only_from_bracketed_suffix(self):
        from cellblock_kernel.charts import parse_unit

        self.assertEqual(parse_unit("Temperature [°C]"), "°C")
        self.assertEqual(parse_unit("Distance (km)"), "km")
        self.assertIsNone(parse_unit("Distance"))
        self.assertIsNone(parse_unit("f(x) of time"))
        self.assertIsNone(parse_unit(None))

    def test_log_scale(self):
        figure, ax = plt.subplots()
        ax.plot([1, 10, 100], [1, 2, 3])
        ax.set_xscale("log")
        chart = self.chart(figure)
        self.assertEqual(chart["x_scale"], "log")
        self.assertEqual(chart["y_scale"], "linear")

    def test_scatter_ignores_reference_lines(self):
        figure, ax = plt.subplots()
        ax.scatter([1, 2, 3], [4, 5, 6], label="samples")
        ax.scatter(np.array([7.5]), np.array([8.25]))
        ax.axhline(5)
        chart = self.chart(figure)
        self.assertEqual(chart["type"], "scatter")
        self.assertEqual(set(chart), POINT_KEYS)
        self.assertEqual(chart["elements"][0], {"label": "samples", "points": [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]})
        self.assertEqual(chart["elements"][1]["points"], [[7.5, 8.25]])
        self.assertTrue(chart["elements"][1]["label"].startswith("Line "))

    def test_categorical_scatter_keeps_category_names(self):
        figure, ax = plt.subplots()
        ax.scatter(["mon", "tue", "wed"], [1, 2, 3])
        chart = self.chart(figure)
        self.assertEqual(chart["x_scale"], "categorical")
        self.assertEqual(chart["x_tick_labels"], ["mon", "tue", "wed"])
        self.assertEqual([p[0] for p in chart["elements"][0]["points"]], ["mon", "tue", "wed"])

    def test_vertical_bars_with_groups(self):
        figure, ax = plt.subplots()
        ax.bar(["A", "B", "C"], [10, 20, 30], label="2023")
        ax.bar(["A", "B", "C"], np.array([1.5, 2.5, 3.5]), bottom=[10, 20, 30])
        ax.set_title("Sales")
        ax.set_xlabel("Author")
        ax.set_ylabel("Books (k)")
        chart = self.chart(figure)
        self.assertEqual(chart["type"], "bar")
        self.assertEqual(set(chart), TWO_D_KEYS)
        self.assertEqual(chart["title"], "Sales")
        # Upright bars keep the category axis as x.
        self.assertEqual((chart["x_label"], chart["x_unit"]), ("Author", None))
        self.assertEqual((chart["y_label"], chart["y_unit"]), ("Books (k)", "k"))
        self.assertEqual(
            chart["elements"],
            [
                {"label": "A", "group": "2023", "value": 10.0},
                {"label": "B", "group": "2023", "value": 20.0},
                {"label": "C", "group": "2023", "value": 30.0},
                {"label": "A", "group": "Group 1", "value": 1.5},
                {"label": "B", "group": "Group 1", "value": 2.5},
                {"label": "C", "group": "Group 1", "value": 3.5},
            ],
        )

    def test_horizontal_bars_swap_axis_labels(self):
        figure, ax = plt.subplots()
        ax.barh(["x", "y"], [3, 7])
        ax.set_xlabel("Weight (kg)")
        ax.set_ylabel("Item")
        chart = self.chart(figure)
        self.assertEqual(chart["type"], "bar")
        self.assertEqual((chart["x_label"], chart["x_unit"]), ("Item", None))
        self.assertEqual((chart["y_label"], chart["y_unit"]), ("Weight (kg)", "kg"))
        self.assertEqual(
            chart["elements"],
            [{"label": "x", "group": "Group 0", "value": 3.0}, {"label": "y", "group": "Group 0", "value": 7.0}],
        )

    def test_pie_angles(self):
        figure, ax = plt.subplots()
        ax.pie([90, 10], labels=["Big", "Small"])
        ax.set_title("Share")
        chart = self.chart(figure)
        self.assertEqual(set(chart), {"type", "title", "elements"})
        self.assertEqual(chart["type"], "pie")
        self.assertEqual(chart["title"], "Share")
        self.assertEqual(
            chart["elements"],
            [{"label": "Big", "angle": 324.0, "radius": 1.0}, {"label": "Small", "angle": 36.0, "radius": 1.0}],
        )

    def test_pie_radius(self):
        figure, ax = plt.subplots()
        ax.pie([1, 3], radius=0.5)
        chart = self.chart(figure)
        self.assertEqual([e["radius"] for e in chart["elements"]], [0.5, 0.5])
        self.assertEqual([e["angle"] for e in chart["elements"]], [90.0, 270.0])

    def test_box_and_whisker_with_outlier(self):
        data = [[1, 2, 3, 4, 5, 30], [2, 3, 4, 5]]
        figure, ax = plt.subplots()
        ax.boxplot(data, patch_artist=True, labels=["first", "second"])
        ax.set_xlabel("Group")
        ax.set_ylabel("Score (pts)")
        chart = self.chart(figure)
        self.assertEqual(chart["type"], "box_and_whisker")
        self.assertEqual(set(chart), TWO_D_KEYS)
        self.assertEqual((chart["x_label"], chart["y_unit"]), ("Group", "pts"))
        q = [np.percentile(d, [25, 50, 75]).tolist() for d in data]
        self.assertEqual(
            chart["elements"],
            [
                {
                    "label": "first",
                    "min": 1.0,
                    "first_quartile": q[0][0],
                    "median": q[0][1],
                    "third_quartile": q[0][2],
                    "max": 5.0,
                    "outliers": [30.0],
                },
                {
                    "label": "second",
                    "min": 2.0,
                    "first_quartile": q[1][0],
                    "median": q[1][1],
                    "third_quartile": q[1][2],
                    "max": 5.0,
                    "outliers": [],
                },
            ],
        )

    def test_sideways_notched_box(self):
        figure, ax = plt.subplots()
        ax.boxplot([[1, 2, 3, 4, 5, 30]], patch_artist=True, vert=False, notch=True)
        ax.set_xlabel("Score")
        ax.set_ylabel("Class")
        chart = self.chart(figure)
        self.assertEqual(chart["type"], "box_and_whisker")
        self.assertEqual((chart["x_label"], chart["y_label"]), ("Class", "Score"))
        (box,) = chart["elements"]
        self.assertEqual(
            [box["min"], box["first_quartile"], box["median"], box["third_quartile"], box["max"]],
            [1.0, 2.25, 3.5, 4.75, 5.0],
        )
        self.assertEqual(box["outliers"], [30.0])

    def test_datetime_axis_gives_iso_strings(self):
        days = [datetime.datetime(2024, 1, d) for d in (1, 2, 3)]
        figure, ax = plt.subplots()
        ax.plot(days, [1, 4, 9], label="visits")
        chart = self.chart(figure)
        self.assertEqual(chart["x_scale"], "datetime")
        self.assertEqual(chart["y_scale"], "linear")
        self.assertTrue(chart["x_ticks"])
        for tick in chart["x_ticks"]:
            self.assertIsInstance(tick, str)
            datetime.datetime.fromisoformat(tick)
        self.assertEqual(
            chart["elements"][0]["points"],
            [["2024-01-01T00:00:00", 1.0], ["2024-01-02T00:00:00", 4.0], ["2024-01-03T00:00:00", 9.0]],
        )

    def test_pandas_datetime_index(self):
        index = pd.date_range("2024-03-01", periods=2, freq="D")
        figure, ax = plt.subplots()
        ax.plot(index, np.array([1.0, np.nan]))
        chart = self.chart(figure)
        self.assertEqual(chart["x_scale"], "datetime")
        self.assertEqual(chart["elements"][0]["points"], [["2024-03-01T00:00:00", 1.0], ["2024-03-02T00:00:00", None]])

    def test_superchart(self):
        figure, (left, right) = plt.subplots(1, 2)
        left.plot([1, 2, 3], [1, 2, 3])
        left.set_title("Trend")
        right.pie([1, 3])
        figure.suptitle("Overview")
        chart = self.chart(figure)
        self.assertEqual(set(chart), {"type", "title", "elements"})
        self.assertEqual(chart["type"], "superchart")
        self.assertEqual(chart["title"], "Overview")
        self.assertEqual([e["type"] for e in chart["elements"]], ["line", "pie"])
        self.assertEqual(chart["elements"][0]["title"], "Trend")
        self.assertEqual(set(chart["elements"][0]), POINT_KEYS)

    def test_superchart_without_suptitle(self):
        figure, (top, bottom) = plt.subplots(2, 1)
        top.bar(["a"], [1])
        bottom.scatter([1], [2])
        chart = self.chart(figure)
        self.assertIsNone(chart["title"])
        self.assertEqual([e["type"] for e in chart["elements"]], ["bar", "scatter"])

    def test_unknown(self):
        figure, ax = plt.subplots()
        ax.imshow(np.zeros((3, 3)))
        ax.set_title("Heat")
        chart = self.chart(figure)
        self.assertEqual(chart, {"type": "unknown", "title": "Heat", "elements": []})

    def test_mixed_line_and_bar_is_unknown(self):
        figure, ax = plt.subplots()
        ax.bar([1, 2], [3, 4])
        ax.plot([1, 2], [3, 5])
        self.assertEqual(self.chart(figure)["type"], "unknown")

    def test_text_is_ignored(self):
        figure, ax = plt.subplots()
        ax.plot([1, 2], [1, 3])
        ax.text(1, 1, "note")
        ax.annotate("peak", (2, 3))
        self.assertEqual(self.chart(figure)["type"], "line")

    def test_blank_figures_give_no_chart(self):
        self.assertIsNone(self.extract(plt.figure()))
        figure, _ = plt.subplots()
        self.assertIsNone(self.extract(figure))
        figure, ax = plt.subplots()
        ax.set_title("only a title")
        self.assertIsNone(self.extract(figure))


@unittest.skipIf(pd is None, "pandas is not installed")
class DataFrameDataTest(unittest.TestCase):
    def test_dataframe_to_data(self):
        from cellblock_kernel.dataframes import dataframe_to_data

        frame = pd.DataFrame(
            {
                "when": pd.to_datetime(["2024-01-02 03:04:05", None]),
                "value": [1.5, float("nan")],
                "count": np.array([1, 2], dtype=np.int64),
                "flag": [True, False],
                "name": ["a", None],
                7: [datetime.date(2024, 5, 6), "later"],
            }
        )
        data = dataframe_to_data(frame)
        assert_plain_json_types(self, data)
        self.assertEqual(strict_json(data), data)
        self.assertEqual(
            data,
            {
                "when": ["2024-01-02T03:04:05", None],
                "value": [1.5, None],
                "count": [1, 2],
                "flag": [True, False],
                "name": ["a", None],
                "7": ["2024-05-06", "later"],
            },
        )

    def test_timezone_and_objects(self):
        from cellblock_kernel.dataframes import dataframe_to_data

        class Thing:
            def __str__(self):
                return "thing"

        frame = pd.DataFrame(
            {"at": pd.to_datetime(["2024-01-01T12:00:00Z"]), "obj": [Thing()], "arr": [np.float32(0.25)]}
        )
        data = dataframe_to_data(frame)
        self.assertEqual(strict_json(data), data)
        self.assertEqual(data, {"at": ["2024-01-01T12:00:00+00:00"], "obj": ["thing"], "arr": [0.25]})


@unittest.skipIf(np is None, "numpy is not installed")
class JsonValueTest(unittest.TestCase):
    def test_strict_conversion(self):
        from cellblock_kernel.jsonsafe import NotJsonable, to_json_value

        value = {"a": np.int32(3), 1: [np.float64("nan"), np.bool_(True)], None: np.arange(2)}
        converted = to_json_value(value)
        self.assertEqual(converted, {"a": 3, "1": [None, True], "null": [0, 1]})
        assert_plain_json_types(self, converted)
        with self.assertRaises(NotJsonable):
            to_json_value({"x": object()})


if __name__ == "__main__":
    unittest.main()

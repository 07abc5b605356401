"""A real ipykernel started exactly as cellblock-agent starts it, with cellblock_kernel installed.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/python -v
"""

import ast
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

_PACKAGE_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "templates", "code-interpreter", "python")
)

# The exact exec_lines value the agent passes (one argv element).
EXEC_LINES = "--IPKernelApp.exec_lines=import cellblock_kernel; cellblock_kernel.install()"
KERNEL_ARGV = [
    "/usr/bin/python3",
    "-m",
    "ipykernel_launcher",
    "-f",
    "{connection_file}",
    "--matplotlib=inline",
    "--InteractiveShell.colors=NoColor",
    "--PlainTextFormatter.max_seq_length=0",
    EXEC_LINES,
]
KERNEL_NAME = "cellblock-python-test"
TIMEOUT = 30.0

try:
    import ipykernel  # noqa: F401
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    HAVE_KERNEL = os.path.exists("/usr/bin/python3")
except ImportError:
    HAVE_KERNEL = False


def _kernel_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = _PACKAGE_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("MPLBACKEND", None)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


@unittest.skipUnless(HAVE_KERNEL, "ipykernel / jupyter_client are not installed")
class KernelStartupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec_dir = tempfile.mkdtemp(prefix="cellblock-kernelspec-")
        kernel_dir = os.path.join(cls.spec_dir, KERNEL_NAME)
        os.makedirs(kernel_dir)
        with open(os.path.join(kernel_dir, "kernel.json"), "w", encoding="utf-8") as spec:
            json.dump({"argv": KERNEL_ARGV, "display_name": "cellblock test", "language": "python"}, spec)
        cls.manager = KernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(kernel_dirs=[cls.spec_dir])
        )
        cls.started = time.monotonic()
        cls.manager.start_kernel(env=_kernel_env())
        cls.client = cls.manager.client()
        cls.client.start_channels()
        cls.own_ids = set()
        cls.foreign_iopub = []  # iopub messages not caused by this test's executions
        cls._wait_until_connected()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.client.stop_channels()
            cls.manager.shutdown_kernel(now=True)
        finally:
            shutil.rmtree(cls.spec_dir, ignore_errors=True)

    @classmethod
    def _wait_until_connected(cls):
        """kernel_info until both the shell reply and an iopub message arrive.

        Unlike KernelClient.wait_for_ready, every iopub message is kept so stray
        start-up output can be checked for."""
        deadline = time.monotonic() + TIMEOUT
        shell_ok = iopub_ok = False
        while time.monotonic() < deadline and not (shell_ok and iopub_ok):
            msg_id = cls.client.kernel_info()
            cls.own_ids.add(msg_id)
            try:
                reply = cls.client.get_shell_msg(timeout=1.0)
                shell_ok = shell_ok or reply["msg_type"] == "kernel_info_reply"
            except queue.Empty:
                pass
            while True:
                try:
                    message = cls.client.get_iopub_msg(timeout=0.3)
                except queue.Empty:
                    break
                iopub_ok = True
                cls._note(message)
        if not (shell_ok and iopub_ok):
            raise RuntimeError("kernel did not become ready")

    @classmethod
    def _note(cls, message):
        if message["parent_header"].get("msg_id") not in cls.own_ids:
            cls.foreign_iopub.append(message)

    def execute(self, code):
        """Run ``code``; returns (iopub outputs of the cell, execute_reply content)."""
        msg_id = self.client.execute(code, stop_on_error=False, allow_stdin=False)
        self.own_ids.add(msg_id)
        outputs = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            self.assertGreater(remaining, 0, f"no idle for {code!r}")
            message = self.client.get_iopub_msg(timeout=remaining)
            self._note(message)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "status" and message["content"]["execution_state"] == "idle":
                break
            if kind not in ("status", "execute_input"):
                outputs.append(message)
        while True:
            reply = self.client.get_shell_msg(timeout=TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                return outputs, reply["content"]

    def single(self, outputs, kind):
        matching = [m for m in outputs if m["msg_type"] == kind]
        self.assertEqual(len(matching), 1, [(m["msg_type"], m["content"]) for m in outputs])
        return matching[0]["content"]

    def assert_no_streams_or_errors(self, outputs):
        for message in outputs:
            self.assertNotIn(message["msg_type"], ("stream", "error"), message["content"])

    # The tests are numbered: the first one must see the kernel as start-up left it.

    def test_01_data_stack_imported_at_start_and_silent(self):
        code = (
            "import sys, json, cellblock_kernel\n"
            "json.dumps({'modules': [m for m in ('numpy', 'pandas', 'matplotlib.pyplot') if m in sys.modules],"
            " 'report': cellblock_kernel.install_report})"
        )
        outputs, reply = self.execute(code)
        self.assertEqual(reply["status"], "ok")
        self.assert_no_streams_or_errors(outputs)
        text = self.single(outputs, "execute_result")["data"]["text/plain"]
        state = json.loads(ast.literal_eval(text))
        self.assertEqual(state["modules"], ["numpy", "pandas", "matplotlib.pyplot"])
        report = state["report"]
        self.assertTrue(report["installed"])
        self.assertEqual(report["errors"], [])
        self.assertEqual(report["missing"], [])
        self.assertEqual(report["captured_output"], "", "install() printed something")
        self.assertLess(report["setup_seconds"], 0.25)
        sys.stderr.write(
            f"[install(): imports {report['import_seconds'] * 1000:.0f} ms,"
            f" setup {report['setup_seconds'] * 1000:.1f} ms] "
        )
        streams = [m for m in self.foreign_iopub if m["msg_type"] in ("stream", "error", "display_data")]
        self.assertEqual(streams, [], "output published during kernel start-up")

    def test_02_show_adds_chart_to_image_bundle(self):
        outputs, reply = self.execute("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]); plt.show()")
        self.assertEqual(reply["status"], "ok")
        self.assert_no_streams_or_errors(outputs)
        data = self.single(outputs, "display_data")["data"]
        self.assertTrue(base64.b64decode(data["image/png"]).startswith(b"\x89PNG"))
        chart = data["e2b/chart"]
        self.assertEqual(chart["type"], "line")
        self.assertEqual(chart["elements"], [{"label": "Line 0", "points": [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]}])

    def test_03_unshown_figure_flushed_with_chart(self):
        outputs, _ = self.execute("plt.bar(['a', 'b'], [3, 4], label='n');")
        data = self.single(outputs, "display_data")["data"]
        self.assertIn("image/png", data)
        self.assertEqual(data["e2b/chart"]["type"], "bar")
        self.assertEqual([e["value"] for e in data["e2b/chart"]["elements"]], [3.0, 4.0])

    def test_04_blank_figures_have_no_chart(self):
        # An empty Axes still renders a PNG; the chart is left out.
        outputs, _ = self.execute("plt.subplots(); plt.show()")
        self.assert_no_streams_or_errors(outputs)
        data = self.single(outputs, "display_data")["data"]
        self.assertIn("image/png", data)
        self.assertNotIn("e2b/chart", data)
        # A figure without Axes renders no image at all, and so no chart either.
        outputs, _ = self.execute("plt.figure(); plt.show()")
        self.assert_no_streams_or_errors(outputs)
        data = self.single(outputs, "display_data")["data"]
        self.assertNotIn("image/png", data)
        self.assertNotIn("e2b/chart", data)

    def test_05_dataframe_gives_html_and_data(self):
        code = (
            "import pandas as pd\n"
            "pd.DataFrame({'a': [1, 2], 'x': [0.5, float('nan')],"
            " 't': pd.to_datetime(['2024-01-02', '2024-01-03 04:05:06'])})"
        )
        outputs, reply = self.execute(code)
        self.assertEqual(reply["status"], "ok")
        self.assert_no_streams_or_errors(outputs)
        data = self.single(outputs, "execute_result")["data"]
        self.assertIn("<table", data["text/html"])
        self.assertIn("text/plain", data)
        self.assertEqual(
            data["e2b/data"],
            {"a": [1, 2], "x": [0.5, None], "t": ["2024-01-02T00:00:00", "2024-01-03T04:05:06"]},
        )

    def test_06_plain_values_stay_plain(self):
        outputs, _ = self.execute("1+1")
        self.assertEqual(self.single(outputs, "execute_result")["data"], {"text/plain": "2"})
        outputs, _ = self.execute("'text'")
        self.assertEqual(self.single(outputs, "execute_result")["data"], {"text/plain": "'text'"})

    def test_07_dict_gets_json_like_e2b(self):
        outputs, _ = self.execute("import numpy as np\n{'a': 1, 'b': [np.int64(2), 2.5, None]}")
        data = self.single(outputs, "execute_result")["data"]
        self.assertEqual(data["text/plain"], "{'a': 1, 'b': [2, 2.5, None]}")
        self.assertEqual(data["application/json"], {"a": 1, "b": [2, 2.5, None]})
        outputs, _ = self.execute("[object()]")
        data = self.single(outputs, "execute_result")["data"]
        self.assertEqual(set(data), {"text/plain"})

    def test_08_pil_show_displays_png(self):
        outputs, reply = self.execute("from PIL import Image\nImage.new('RGB', (4, 3), 'red').show()")
        self.assertEqual(reply["status"], "ok")
        self.assert_no_streams_or_errors(outputs)
        data = self.single(outputs, "display_data")["data"]
        png = base64.b64decode(data["image/png"])
        self.assertTrue(png.startswith(b"\x89PNG"))
        self.assertEqual(int.from_bytes(png[16:20], "big"), 4)  # IHDR width
        self.assertIn("size=4x3", data["text/plain"])

    def test_09_savefig_does_not_display_twice(self):
        path = os.path.join(tempfile.gettempdir(), f"cellblock-test-{os.getpid()}.png")
        outputs, _ = self.execute(f"plt.plot([1, 2]); plt.savefig({path!r}); plt.close()")
        try:
            self.assertEqual([m["msg_type"] for m in outputs], [])
        finally:
            if os.path.exists(path):
                os.remove(path)

    def test_10_failing_extraction_never_breaks_the_cell(self):
        code = (
            "import cellblock_kernel.charts as c\n"
            "_saved = c.chart_from_axes\n"
            "c.chart_from_axes = lambda ax: 1 / 0\n"
            "try:\n"
            "    plt.plot([1, 2]); plt.show()\n"
            "finally:\n"
            "    c.chart_from_axes = _saved"
        )
        outputs, reply = self.execute(code)
        self.assertEqual(reply["status"], "ok")
        self.assert_no_streams_or_errors(outputs)
        data = self.single(outputs, "display_data")["data"]
        self.assertIn("image/png", data)
        self.assertNotIn("e2b/chart", data)


@unittest.skipUnless(HAVE_KERNEL, "ipykernel is not installed")
class InstallIsSilentTest(unittest.TestCase):
    def test_install_writes_nothing_to_the_process_streams(self):
        code = (
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "shell = InteractiveShell.instance()\n"
            "import cellblock_kernel\n"
            "cellblock_kernel.install()\n"
            "assert cellblock_kernel.install_report['installed']\n"
            "assert 'e2b/chart' in shell.display_formatter.formatters\n"
        )
        env = _kernel_env()
        env["MPLBACKEND"] = "Agg"
        result = subprocess.run(
            ["/usr/bin/python3", "-c", code], env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr, "")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Peer for bench/agent_latency.mjs: `1+1` round trips through Debian's jupyter_client, straight to ipykernel.

The kernel is started with the same argv the agent uses, so the difference between this and the agent's /execute
latency is the agent's own overhead (HTTP, JSON, routing).

Modes:
  --serve            print "ready" once warm, then for each stdin line "<client> N" (client: jupyter_client or
                     raw) run N round trips and print one JSON
                     line {"samples_ms": [...]}; "quit" (or EOF) stops the kernel and exits.
  --iterations N     run N round trips once and print {"samples_ms": [...]} (standalone use).
"""

import argparse
import socket
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import zmq

from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

KERNEL_ARGV = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{conn}", "--matplotlib=inline",
               "--InteractiveShell.colors=NoColor"]
# What the agent adds when its start-up module is available (formatters for e2b/chart, e2b/data, application/json).
STARTUP_ARGS = ["--PlainTextFormatter.max_seq_length=0",
                "--IPKernelApp.exec_lines=import cellblock_kernel; cellblock_kernel.install()"]
REPLY_TIMEOUT_S = 30


def start_kernel(tmpdir, startup_module_dir=None, attempts=3):
    """Starts ipykernel with the agent's argv. Retries because write_connection_file picks free ports and closes
    them, so another process may grab one before the kernel binds it."""
    for attempt in range(1, attempts + 1):
        conn_file = os.path.join(tmpdir, f"kernel-{attempt}.json")
        write_connection_file(conn_file, ip="127.0.0.1", transport="tcp")
        argv = [a.replace("{conn}", conn_file) for a in KERNEL_ARGV]
        env = dict(os.environ)
        if startup_module_dir:
            argv += STARTUP_ARGS
            env["PYTHONPATH"] = startup_module_dir
        log_path = os.path.join(tmpdir, f"kernel-{attempt}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        client = BlockingKernelClient(connection_file=conn_file)
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            return proc, client, conn_file
        except RuntimeError as exc:
            client.stop_channels()
            proc.kill()
            proc.wait()
            with open(log_path, errors="replace") as log:
                sys.stderr.write(f"kernel start attempt {attempt} failed: {exc}\n{log.read()[-4000:]}\n")
    raise RuntimeError("the kernel did not start")


def round_trip(client, code="1+1"):
    """One execute_request through jupyter_client's own blocking API, which returns the execute_reply after the
    iopub idle status for the request has arrived."""
    results = []

    def on_iopub(msg):
        if msg["msg_type"] == "execute_result":
            results.append(msg["content"]["data"].get("text/plain"))

    start = time.perf_counter()
    reply = client.execute_interactive(code, store_history=True, allow_stdin=False, stop_on_error=False,
                                       timeout=REPLY_TIMEOUT_S, output_hook=on_iopub)
    elapsed_ms = (time.perf_counter() - start) * 1000.0
    if reply["content"]["status"] != "ok" or results != ["2"]:
        raise RuntimeError(f"unexpected reply {reply['content']} / results {results}")
    return elapsed_ms


class RawZmqClient:
    """Minimal hand-rolled Jupyter client on plain pyzmq: the floor for any client of this kernel."""

    def __init__(self, conn_file):
        with open(conn_file) as f:
            info = json.load(f)
        self.key = info["key"].encode()
        self.session = uuid.uuid4().hex
        self.ctx = zmq.Context()
        self.shell = self.ctx.socket(zmq.DEALER)
        self.shell.connect(f"tcp://{info['ip']}:{info['shell_port']}")
        self.iopub = self.ctx.socket(zmq.SUB)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(f"tcp://{info['ip']}:{info['iopub_port']}")
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        time.sleep(0.3)  # let the SUB subscription reach the kernel before the first request

    def _send(self, msg_type, content):
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "session": self.session, "username": "bench", "msg_type": msg_type,
                  "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        frames = [json.dumps(x).encode() for x in (header, {}, {}, content)]
        sig = hmac.new(self.key, digestmod=hashlib.sha256)
        for fr in frames:
            sig.update(fr)
        self.shell.send_multipart([b"<IDS|MSG>", sig.hexdigest().encode(), *frames])
        return msg_id

    @staticmethod
    def _parse(frames):
        i = frames.index(b"<IDS|MSG>")
        header, parent, _meta, content = (json.loads(f) for f in frames[i + 2:i + 6])
        return header, parent, content

    def round_trip(self, code="1+1"):
        start = time.perf_counter()
        msg_id = self._send("execute_request", {"code": code, "silent": False, "store_history": True,
                                                "user_expressions": {}, "allow_stdin": False,
                                                "stop_on_error": False})
        got_reply = got_idle = False
        result = None
        while not (got_reply and got_idle):
            ready = dict(self.poller.poll(REPLY_TIMEOUT_S * 1000))
            if not ready:
                raise RuntimeError("no reply from the kernel")
            if self.shell in ready:
                header, parent, content = self._parse(self.shell.recv_multipart())
                if parent.get("msg_id") == msg_id and header["msg_type"] == "execute_reply":
                    got_reply = True
            if self.iopub in ready:
                header, parent, content = self._parse(self.iopub.recv_multipart())
                if parent.get("msg_id") != msg_id:
                    continue
                if header["msg_type"] == "execute_result":
                    result = content["data"].get("text/plain")
                elif header["msg_type"] == "status" and content["execution_state"] == "idle":
                    got_idle = True
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        if result != "2":
            raise RuntimeError(f"unexpected result {result!r}")
        return elapsed_ms

    def close(self):
        self.shell.close(0)
        self.iopub.close(0)
        self.ctx.term()


class RawHttpClient:
    """POST /execute to the agent over one keep-alive TCP connection with a minimal HTTP/1.1 client, so the agent's
    overhead is measured against the raw ZeroMQ client with the same language and the same amount of client work."""

    def __init__(self, url):
        host, port = url.replace("http://", "").rstrip("/").split(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = json.dumps({"code": "1+1"}).encode()
        self.request = (b"POST /execute HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def round_trip(self):
        started = time.perf_counter()
        self.sock.sendall(self.request)
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the agent closed the connection")
            data += chunk
        if b'"text":"2"' not in data:
            raise RuntimeError("unexpected answer: %r" % data[:300])
        return (time.perf_counter() - started) * 1000

    def close(self):
        self.sock.close()


def run(client, n):
    if isinstance(client, (RawZmqClient, RawHttpClient)):
        return [client.round_trip() for _ in range(n)]
    return [round_trip(client) for _ in range(n)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--client", choices=["jupyter_client", "raw"], default="jupyter_client",
                        help="client for the standalone mode")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--agent-url", help="also offer the client 'agent_http': raw HTTP to this interpreter URL")
    parser.add_argument("--startup-module-dir", help="start the kernel like the agent does: PYTHONPATH=DIR plus "
                        "the cellblock_kernel exec_lines")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cellblock-peer-") as tmpdir:
        proc, jc, conn_file = start_kernel(tmpdir, args.startup_module_dir)
        raw = RawZmqClient(conn_file)
        clients = {"jupyter_client": jc, "raw": raw}
        if args.agent_url:
            clients["agent_http"] = RawHttpClient(args.agent_url)
        try:
            for c in clients.values():
                run(c, args.warmup)
            if not args.serve:
                print(json.dumps({"samples_ms": run(clients[args.client], args.iterations)}), flush=True)
                return
            print("ready", flush=True)
            for line in sys.stdin:
                words = line.split()
                if not words or words[0] == "quit":
                    break
                name, n = words[0], int(words[1])
                print(json.dumps({"samples_ms": run(clients[name], n)}), flush=True)
        finally:
            raw.close()
            jc.stop_channels()
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()

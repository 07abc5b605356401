#!/usr/bin/env python3
"""The "internet servers" of tests/net/fake_internet, run inside its network namespace. Standard library only.

    fake_servers.py serve --cert C --key K --pid-file P [--http-port 80] [--https-port 443] [--echo-port 7]
    fake_servers.py check-echo HOST PORT          exit 0 if HOST:PORT echoes a line back
    fake_servers.py check-dns SERVER NAME ADDR    exit 0 if SERVER answers NAME with the A record ADDR

`serve` listens on 0.0.0.0, so every address of the namespace answers (the 198.19.x.0/24 "internet" hosts and the
198.18.x.2 "LAN host" alike); what a test reached is told by the address the connection arrived on. Threaded: one
thread per connection, so a /slow stream never holds up other requests.

HTTP (port 80) and HTTPS (port 443, reporting the SNI the client sent), HTTP/1.1 with keep-alive:
    GET /bytes/<n>   n bytes of 'x' (Content-Length n), written 1 MiB at a time: ~GB/s, not the bottleneck
    GET /slow        600 bytes, one every 100 ms (60 s), for tests that cut an open connection
    GET <any other>  {"server": local address, "port": local port, "host": Host header, "path": path,
                      "sni": SNI or null, "client": peer address}
Echo (port 7): every byte received is sent back until the client closes.

The pid file is written once every socket is bound, so its presence means the servers accept connections.
"""

import argparse
import http.server
import json
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

kChunk = b"x" * (1 << 20)  # /bytes writes from this one preallocated buffer
kSlowBytes = 600
kSlowInterval = 0.1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so benchmarks can reuse a connection
    server_version = "cellblock-fake-internet"
    timeout = 120  # an idle keep-alive connection is dropped after this
    # Head and body leave in separate writes: without TCP_NODELAY the body waits for the client's delayed
    # acknowledgement (40 ms), which would swamp every latency measurement made against this server.
    disable_nagle_algorithm = True

    def do_GET(self):
        if self.path.startswith("/bytes/"):
            self.send_bytes()
        elif self.path == "/slow":
            self.send_slow()
        else:
            self.send_identity()

    def send_identity(self):
        local = self.connection.getsockname()
        body = json.dumps({
            "server": local[0],
            "port": local[1],
            "host": self.headers.get("Host"),
            "path": self.path,
            "sni": getattr(self.connection, "sni", None),
            "client": self.client_address[0],
        }).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_bytes(self):
        try:
            remaining = int(self.path[len("/bytes/"):])
            if remaining < 0:
                raise ValueError
        except ValueError:
            self.send_error(400, "usage: /bytes/<n>, n >= 0")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(remaining))
        self.end_headers()
        chunk = memoryview(kChunk)
        while remaining > 0:
            step = min(remaining, len(chunk))
            self.wfile.write(chunk[:step])  # wfile is unbuffered: this is one sendall
            remaining -= step

    def send_slow(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(kSlowBytes))
        self.end_headers()
        sent = 0
        try:
            for sent in range(1, kSlowBytes + 1):
                self.wfile.write(b".")
                time.sleep(kSlowInterval)
        except OSError as error:  # the point of /slow: a test cuts it; say so in the log
            self.log_message("/slow cut after %d bytes: %s", sent - 1, error)
            self.close_connection = True

    def log_message(self, format, *args):
        sni = getattr(self.connection, "sni", None)
        local = self.connection.getsockname()
        sys.stderr.write("%s %s:%d%s <- %s: %s\n" % (
            time.strftime("%H:%M:%S"), local[0], local[1], " sni=%s" % sni if sni else "",
            self.client_address[0], format % args))


class HttpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def server_bind(self):
        # HTTPServer's own server_bind looks its address up with getfqdn(): a DNS query to whatever the host's
        # resolv.conf names, which a test must never send. Nothing here needs the name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class HttpsServer(HttpServer):
    def __init__(self, address, cert, key):
        super().__init__(address, Handler)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.context.sni_callback = remember_sni

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread, so a slow or silent TLS client never blocks accept().
        request.settimeout(Handler.timeout)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as error:
            sys.stderr.write("%s tls handshake from %s failed: %s\n" %
                             (time.strftime("%H:%M:%S"), client_address[0], error))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()  # wrap_socket took over the descriptor; the server's own shutdown_request sees a dead one


def remember_sni(tls_socket, server_name, context):
    tls_socket.sni = server_name  # read back by Handler.send_identity
    return None


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(120)
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass


class EchoServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def serve(args):
    servers = [
        HttpServer(("0.0.0.0", args.http_port), Handler),
        HttpsServer(("0.0.0.0", args.https_port), args.cert, args.key),
        EchoServer(("0.0.0.0", args.echo_port), EchoHandler),
    ]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    with open(args.pid_file + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(args.pid_file + ".tmp", args.pid_file)  # atomic: a reader never sees an empty file
    sys.stderr.write("%s serving http :%d, https :%d, echo :%d\n" %
                     (time.strftime("%H:%M:%S"), args.http_port, args.https_port, args.echo_port))
    sys.stderr.flush()
    for thread in threads:
        thread.join()  # until SIGTERM (default action: exit)


def check_echo(args):
    with socket.create_connection((args.host, args.port), timeout=2) as s:
        s.sendall(b"ping\n")
        reply = b""
        while len(reply) < 5 and (data := s.recv(16)):
            reply += data
    return 0 if reply == b"ping\n" else 1


def check_dns(args):
    # One A query over UDP, built by hand: 12-byte header, then the question.
    query_id = os.getpid() & 0xFFFF
    question = b"".join(bytes([len(label)]) + label.encode() for label in args.name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(packet, (args.server, 53))
        reply = s.recv(512)
    # The answer's RDATA is the last 4 bytes when there is exactly one A record, which is all dnsmasq sends here.
    reply_id, flags, _, answers = struct.unpack(">HHHH", reply[:8])
    ok = reply_id == query_id and flags & 0xF == 0 and answers == 1 and socket.inet_ntoa(reply[-4:]) == args.addr
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--pid-file", required=True)
    p.add_argument("--http-port", type=int, default=80)
    p.add_argument("--https-port", type=int, default=443)
    p.add_argument("--echo-port", type=int, default=7)
    p.set_defaults(run=serve)
    p = sub.add_parser("check-echo")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.set_defaults(run=check_echo)
    p = sub.add_parser("check-dns")
    p.add_argument("server")
    p.add_argument("name")
    p.add_argument("addr")
    p.set_defaults(run=check_dns)
    args = parser.parse_args()
    try:
        return args.run(args)
    except OSError as error:
        if args.command == "serve":
            raise
        return 1  # a check that could not connect yet: the caller retries


if __name__ == "__main__":
    sys.exit(main())

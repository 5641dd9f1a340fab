"""A small HTTP/1.1 backend for the proxy's end-to-end tests, run as its own process:

  /usr/bin/python3 backend.py PORT NAME

GET/POST /anything answers JSON with the backend's name, the request's method, path, headers
and the body's length and SHA-256; GET /big?bytes=N streams N bytes (chunked); GET /ws
upgrades to a WebSocket that echoes text messages. POST /control {"delay_ms": D, "status": S}
changes how later requests are answered (delay, status). Prints "ready" once listening.
"""
import base64
import hashlib
import json
import socketserver
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STATE = {"delay_ms": 0, "status": 200}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", 0))
        return self.rfile.read(n) if n else b""

    def reply(self, status, payload, extra=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Backend", NAME)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urlparse(self.path)
        body = self.body()
        if url.path == "/control":
            STATE.update(json.loads(body or b"{}"))
            return self.reply(200, STATE)
        if url.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self.websocket()
        if url.path == "/big":
            return self.big(int(parse_qs(url.query)["bytes"][0]))
        if STATE["delay_ms"]:
            time.sleep(STATE["delay_ms"] / 1000)
        self.reply(STATE["status"], {
            "backend": NAME, "method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_length": len(body), "body_sha256": hashlib.sha256(body).hexdigest()})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    def big(self, n):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Backend", NAME)
        self.end_headers()
        block = bytes(range(256)) * 256  # 64 KiB
        left = n
        while left > 0:
            part = block[:min(left, len(block))]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            left -= len(part)
        self.wfile.write(b"0\r\n\r\n")

    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, n = head[0] & 0x0F, head[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if opcode == 8:  # close
                self.wfile.write(b"\x88\x00")
                return
            reply = f"{NAME}:".encode() + data
            self.wfile.write(bytes([0x81, len(reply)]) + reply if len(reply) < 126 else
                             bytes([0x81, 126]) + struct.pack(">H", len(reply)) + reply)
            self.wfile.flush()
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    PORT, NAME = int(sys.argv[1]), sys.argv[2]
    socketserver.TCPServer.request_queue_size = 128
    srv = Server(("127.0.0.1", PORT), Handler)
    print("ready", flush=True)
    srv.serve_forever()

"""Stand-in for an SMS gateway in the compose stack: accepts every POST, sends nothing.

POST <any path>   -> 200 {"status": "accepted", "id": N}; the body is logged and kept
GET  /messages    -> the last 1,000 accepted messages, newest last
GET  /healthz     -> 200 "ok"

Standard library only, so it runs on the plain python image without an install step.
"""

import json
import os
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEPT = 1000
_messages: deque[dict[str, object]] = deque(maxlen=KEPT)
_lock = threading.Lock()
_counter = 0


class SmsSink(BaseHTTPRequestHandler):
    server_version = "reslot-sms-sink/1"

    def do_POST(self) -> None:
        global _counter
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body: object = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with _lock:
            _counter += 1
            message = {"id": _counter, "path": self.path, "body": body}
            _messages.append(message)
        print(json.dumps(message, ensure_ascii=False), flush=True)
        self._reply(200, {"status": "accepted", "id": message["id"]})

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, "ok")
        elif self.path == "/messages":
            with _lock:
                self._reply(200, list(_messages))
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, status: int, payload: object) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Requests are logged as JSON lines by do_POST; keep GET polling quiet."""


def main() -> None:
    port = int(os.environ.get("SMS_SINK_PORT", "8090"))
    ThreadingHTTPServer(("0.0.0.0", port), SmsSink).serve_forever()


if __name__ == "__main__":
    main()

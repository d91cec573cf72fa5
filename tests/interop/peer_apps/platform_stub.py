"""A stand-in for the AnoMed platform (``ANOMED_HOST``): answers every POST with
201 and appends the JSON it received, with its path, to a JSON-lines file.

Usage: ``python platform_stub.py PORT RECORD_FILE``. Standard library only, so
it runs in either environment.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = body.decode("utf-8", "replace")
        with open(sys.argv[2], "a", encoding="utf-8") as record:
            record.write(json.dumps({"path": self.path, "json": payload}) + "\n")
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"message": "platform stub is alive"}')

    def log_message(self, format, *args):
        sys.stderr.write("platform-stub: " + format % args + "\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

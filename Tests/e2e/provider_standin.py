"""A local stand-in for the providers' APIs (Telegram Bot API, Twilio, Meta Graph): records every call and answers
with the providers' documented success shapes, or with the error shapes a test queues."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse


class StandIn:
    def __init__(self):
        self.calls = []
        self.queued = []  # (path part, status, body)
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urlparse(self.path)
                call = {"at": time.time(), "method": self.command, "path": parsed.path, "query": parsed.query, "body": body,
                        "headers": {k.lower(): v for k, v in self.headers.items()}}
                status, answer, ctype = standin.answer(call)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = handle_any
            do_POST = handle_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def queue(self, path_part, status, body):
        with self.lock:
            self.queued.append((path_part, status, body))

    def answer(self, call):
        with self.lock:
            self.calls.append(call)
            n = len(self.calls)
            for i, (part, status, body) in enumerate(self.queued):
                if part in call["path"]:
                    del self.queued[i]
                    return status, json.dumps(body).encode(), "application/json"
        path = call["path"]
        if path.startswith("/files/") or path.startswith("/file/bot"):
            return 200, b"\x89PNG\r\n\x1a\n-standin-image", "image/png"
        if path.endswith("/getFile"):
            return 200, json.dumps({"ok": True, "result": {"file_id": "f", "file_path": f"photos/file_{n}.jpg"}}).encode(), "application/json"
        if "/bot" in path and path.rsplit("/", 1)[-1] in ("sendMessage", "sendPhoto", "sendDocument"):
            return 200, json.dumps({"ok": True, "result": {"message_id": n, "date": 0, "chat": {"id": 1, "type": "private"}}}).encode(), "application/json"
        if path.endswith("/getMe"):
            return 200, json.dumps({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Tienda", "username": "tienda_bot"}}).encode(), "application/json"
        if path.endswith("/setWebhook"):
            return 200, json.dumps({"ok": True, "result": True, "description": "Webhook was set"}).encode(), "application/json"
        if path.endswith("/Messages.json"):
            return 201, json.dumps({"sid": f"SM{n:032d}", "status": "queued"}).encode(), "application/json"
        if path.startswith("/v21.0/") and call["method"] == "GET" and "fields=" in call["query"]:
            return 200, json.dumps({"verified_name": "Tienda Sur", "display_phone_number": "+1 555-000-1111", "id": "1234"}).encode(), "application/json"
        if path.endswith(".json"):
            return 200, json.dumps({"friendly_name": "Tienda", "status": "active"}).encode(), "application/json"
        return 404, b"{}", "application/json"

    def find(self, path_part):
        with self.lock:
            return [c for c in self.calls if path_part in c["path"]]

    @staticmethod
    def form(call):
        return dict(parse_qsl(call["body"].decode()))

    def stop(self):
        self.server.shutdown()

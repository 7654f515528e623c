"""Start and drive a real `atiende` binary for end-to-end tests and benchmarks."""
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, raw=None, timeout=30):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = dict(headers or {})
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def sign(secret, body_bytes, ts=None):
    ts = str(int(time.time())) if ts is None else str(ts)
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body_bytes, hashlib.sha256).hexdigest()
    return ts, "sha256=" + mac


def create_postgres_database(admin_url):
    """A fresh database on the test server; returns its URL."""
    name = "atiende_e2e_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", admin_url.split("?")[0], "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    base, _, query = admin_url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (("?" + query) if query else "")


class Server:
    """One `atiende serve` process in its own working directory."""

    def __init__(self, binary, database_url=None, port=None, workdir=None, env=None):
        self.binary = binary
        self.port = port or free_port()
        self.workdir = workdir or tempfile.mkdtemp(prefix="atiende-e2e-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_") and k != "DATABASE_URL"}
        self.env["LOG_LEVEL"] = "warning"
        # The peers (stand-ins, Dovecot, aiosmtpd) are on loopback, which the outbound guard refuses by default.
        self.env["ATIENDE_ALLOW_PRIVATE_TARGETS"] = "*"
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.proc = None
        self.log = os.path.join(self.workdir, "server.log")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args, timeout=300):
        out = subprocess.run([self.binary, *args], cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"atiende {' '.join(args)} failed: {out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self, args=None, ready_within=120):
        args = args if args is not None else ["serve", "--hostname", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen([self.binary, *args], cwd=self.workdir, env=self.env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.time() + ready_within
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log).read()[-3000:])
            try:
                status, _ = http("GET", self.base + "/health/ready", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready: " + open(self.log).read()[-3000:])

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- API helpers ---------------------------------------------------------------------------
    def setup_workspace(self, email="admin@example.com"):
        out = self.command("setup", "--workspace", "Tienda", "--email", email, "--password", "secreto-largo-1")
        workspace = re.search(r"\(id ([0-9a-f-]{36})\)", out).group(1)
        token = self.command("token", "create", "--email", email).strip().splitlines()[-1]
        return token, workspace

    def api(self, method, path, token, body=None):
        status, data = http(method, self.base + path, body=body, headers={"Authorization": "Bearer " + token})
        return status, (json.loads(data) if data else None)

    def create_api_inbox(self, token, workspace, webhook="http://127.0.0.1:9/unused"):
        status, inbox = self.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token,
                                 {"name": "ERP", "channel": "api", "webhook_url": webhook})
        assert status == 201, inbox
        return inbox

    def post_inbound(self, inbox, body, timeout=30):
        raw = json.dumps(body).encode()
        ts, signature = sign(inbox["secret"], raw)
        return http("POST", f"{self.base}/api/v1/channels/api/{inbox['id']}/messages", raw=raw, timeout=timeout,
                    headers={"Content-Type": "application/json", "X-Atiende-Timestamp": ts, "X-Atiende-Signature": signature})

"""The built binary, driven over HTTP: durability under kill -9, and the commands of the README."""
import json
import os
import random
import threading
import time
import urllib.request

import pytest

from atiende_server import Server, http
from conftest import BINARY


def all_provider_ids(server, token, workspace):
    """Every incoming message's provider id, via the public API (pages of conversations and messages)."""
    ids = []
    cursor = None
    while True:
        path = f"/api/v1/workspaces/{workspace}/conversations?limit=200" + (f"&cursor={cursor}" if cursor else "")
        status, page = server.api("GET", path, token)
        assert status == 200, page
        for conversation in page["data"]:
            mcursor = None
            while True:
                mpath = f"/api/v1/workspaces/{workspace}/conversations/{conversation['number']}/messages?limit=200"
                status, messages = server.api("GET", mpath + (f"&cursor={mcursor}" if mcursor else ""), token)
                assert status == 200, messages
                ids += [m["provider_message_id"] for m in messages["data"] if m["kind"] == "incoming"]
                mcursor = messages["next_cursor"]
                if not mcursor:
                    break
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def test_kill9_loses_nothing_acknowledged(make_server):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    inbox = server.create_api_inbox(token, workspace)

    acknowledged, lock = [], threading.Lock()
    total, killed = 2000, threading.Event()
    counter = iter(range(total))

    def worker():
        while not killed.is_set():
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body = {"message_id": f"k-{i}", "from": {"id": f"c-{i % 50}", "name": f"Cliente {i % 50}"}, "text": f"mensaje {i}"}
            try:
                status, _ = server.post_inbound(inbox, body, timeout=10)
            except OSError:
                continue  # the server died mid-request: not acknowledged
            if status == 200:
                with lock:
                    acknowledged.append(f"k-{i}")

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    # Kill the server hard in the middle of the run.
    deadline = time.time() + 120
    while len(acknowledged) < 700 and time.time() < deadline:
        time.sleep(0.01)
    server.kill9()
    killed.set()
    for t in threads:
        t.join()
    assert 0 < len(acknowledged) < total, len(acknowledged)

    server.start()
    stored = all_provider_ids(server, token, workspace)
    assert len(stored) == len(set(stored)), "a message was stored twice"
    missing = set(acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"

    # Replaying everything after the restart adds nothing that was already there.
    for message_id in acknowledged[:50]:
        i = int(message_id.split("-")[1])
        status, body = server.post_inbound(inbox, {"message_id": message_id, "from": {"id": f"c-{i % 50}"}, "text": "x"})
        assert status == 200 and json.loads(body)["duplicate"] is True
    assert len(all_provider_ids(server, token, workspace)) == len(stored)


def test_commands_setup_token_demo(make_server):
    server = make_server()
    token, workspace = server.setup_workspace("dueña@example.com")
    out = server.command("demo")
    assert "Demo workspace" in out
    server.start()
    status, me = server.api("GET", "/api/v1/me", token)
    assert status == 200 and me["email"] == "dueña@example.com"
    # The demo admin's workspace has Spanish and English customers on several channels.
    demo_token = server.command("token", "create", "--email", "demo@atiende.local").strip().splitlines()[-1]
    status, me = server.api("GET", "/api/v1/me", demo_token)
    demo = me["workspaces"][0]["id"]
    status, page = server.api("GET", f"/api/v1/workspaces/{demo}/conversations?limit=100", demo_token)
    assert status == 200
    channels = {c["channel"] for c in page["data"]}
    assert {"email", "whatsapp", "webchat", "api"} <= channels
    status, contacts = server.api("GET", f"/api/v1/workspaces/{demo}/contacts?q=mar%C3%ADa", demo_token)
    assert status == 200 and contacts["data"], contacts


def test_serve_with_nothing_configured_answers_on_8080(backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the zero-configuration start is the SQLite default")
    server = Server(BINARY, port=8080, workdir=str(tmp_path), env={"LOG_LEVEL": "info"})
    try:
        http("GET", "http://127.0.0.1:8080/health/live", timeout=1)
        pytest.skip("port 8080 is in use on this machine")
    except OSError:
        pass
    try:
        server.start(args=["serve"])
        status, body = http("GET", "http://127.0.0.1:8080/health/ready")
        assert status == 200 and json.loads(body)["database"] == "sqlite"
        assert os.path.exists(tmp_path / "data" / "atiende.sqlite")
        deadline = time.time() + 10
        while "No workspace exists yet" not in open(server.log).read() and time.time() < deadline:
            time.sleep(0.1)
        assert "No workspace exists yet" in open(server.log).read()
        status, _ = http("GET", "http://127.0.0.1:8080/metrics")
        assert status == 200
    finally:
        server.stop()

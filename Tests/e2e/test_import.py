"""Importing another help desk's history, as a business moving to Atiende does it: `atiende import zendesk` on a
generated export of 240 tickets whose attachments a loopback file server hands out, killed with SIGKILL halfway, run
again to the end and a third time — every ticket, comment and file once, with its original time, the malformed ticket
reported; and from the admin page in Chromium, a Freshdesk ZIP uploaded and followed to its report, a file that is not
an export refused with a message and nothing queued."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from atiende_server import ROOT, http
from test_agent_ui import browser, shot, sign_in, wait  # noqa: F401 (browser is a fixture; skips without Chromium)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

SAMPLES = os.path.join(ROOT, "Tests", "Samples", "import")
TICKETS = 240


class Files:
    """A loopback server handing out files by name (the last path part, or `?name=`), a little slowly."""

    def __init__(self, files, delay=0.02):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                name = parse_qs(url.query).get("name", [url.path.rsplit("/", 1)[-1]])[0]
                time.sleep(owner.delay)
                body = owner.files.get(name)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf" if name.endswith(".pdf") else "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.files, self.delay = files, delay
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()


def pdf(n):
    return b"%PDF-1.4\n% boleta " + str(n).encode() + b"\n" + hashlib.sha256(str(n).encode()).digest() * 8 + b"\n%%EOF\n"


def sql(server, query):
    """One value from the server's database."""
    url = server.env.get("DATABASE_URL")
    if url:
        out = subprocess.run(["psql", url.split("?")[0], "-tAc", query], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    with sqlite3.connect(os.path.join(server.workdir, "data", "atiende.sqlite"), timeout=30) as db:
        return str(db.execute(query).fetchone()[0])


def zendesk_export(folder, files_base):
    """A Zendesk API export: an agent and TICKETS customers, a ticket each with three comments and a file, one
    ticket whose requester is not in the export."""
    os.makedirs(os.path.join(folder, "comments"))
    users = [{"id": 1, "name": "Admin", "email": "admin@example.com", "role": "admin"}]
    tickets = []
    for n in range(1, TICKETS + 1):
        users.append({"id": 1000 + n, "name": f"Cliente {n}", "email": f"cliente{n}@example.com", "role": "end-user",
                      "created_at": "2024-01-01T10:00:00Z"})
        opened = f"2024-03-{1 + n % 28:02d}T{8 + n % 10:02d}:15:00Z"
        tickets.append({"id": n, "subject": f"Pedido {n}", "status": "solved" if n % 4 else "open", "priority": "normal",
                        "requester_id": 1000 + n, "assignee_id": 1, "tags": ["importado"], "created_at": opened,
                        "updated_at": opened.replace(":15:", ":55:")})
        comments = [
            {"id": n * 10 + 1, "author_id": 1000 + n, "plain_body": f"Hola, consulta por el pedido {n}", "public": True, "created_at": opened,
             "attachments": [{"id": n, "file_name": f"boleta-{n}.pdf", "content_url": f"{files_base}/attachments/token/{n}/?name=boleta-{n}.pdf",
                              "content_type": "application/pdf"}]},
            {"id": n * 10 + 2, "author_id": 1, "plain_body": f"Respuesta al pedido {n}", "public": True, "created_at": opened.replace(":15:", ":25:")},
            {"id": n * 10 + 3, "author_id": 1000 + n, "plain_body": "Gracias", "public": True, "created_at": opened.replace(":15:", ":45:")},
        ]
        with open(os.path.join(folder, "comments", f"{n}.json"), "w") as f:
            json.dump({"comments": comments}, f)
    tickets.append({"id": 999, "subject": "Huérfano", "status": "open", "requester_id": 424242, "created_at": "2024-03-01T10:00:00Z"})
    for name, key, rows in [("users.json", "users", users), ("tickets.json", "tickets", tickets)]:
        with open(os.path.join(folder, name), "w") as f:
            json.dump({key: rows}, f)


def test_cli_import_killed_halfway_then_resumed(make_server, backend, tmp_path):
    files = Files({f"boleta-{n}.pdf": pdf(n) for n in range(1, TICKETS + 1)})
    try:
        server = make_server()
        token, workspace = server.setup_workspace()
        server.start()
        server.create_api_inbox(token, workspace)
        export = str(tmp_path / "zendesk")
        zendesk_export(export, files.base)
        args = [server.binary, "import", "zendesk", "--from", export, "--inbox", "ERP"]

        # A dry run counts and writes nothing.
        dry = server.command(*args[1:], "--dry-run")
        assert f"Would import from zendesk: {TICKETS} new contacts" in dry and f"{TICKETS} new conversations" in dry, dry
        assert sql(server, "SELECT COUNT(*) FROM import_records") == "0"

        # Killed halfway.
        proc = subprocess.Popen(args, cwd=server.workdir, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while int(sql(server, "SELECT COUNT(*) FROM import_records WHERE kind = 'conversation'")) < 40:
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "the import did not get going"
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        halfway = int(sql(server, "SELECT COUNT(*) FROM conversations WHERE imported_at IS NOT NULL"))
        assert 40 <= halfway < TICKETS, halfway

        # Run again: the rest, nothing twice.
        out = server.command(*args[1:])
        assert f"{TICKETS - halfway} new conversations" in out or f"{TICKETS - halfway - 1} new conversations" in out, out
        assert "ticket 999" in out and "not among the exported people" in out, out
        assert sql(server, "SELECT COUNT(*) FROM conversations WHERE imported_at IS NOT NULL") == str(TICKETS)
        assert sql(server, "SELECT COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                           "WHERE c.imported_at IS NOT NULL") == str(3 * TICKETS)
        assert sql(server, "SELECT COUNT(*) FROM contacts WHERE email LIKE 'cliente%@example.com'") == str(TICKETS)
        assert sql(server, "SELECT COUNT(DISTINCT sha256) FROM attachments") == str(TICKETS)
        assert sql(server, "SELECT COUNT(*) FROM attachments") == str(TICKETS)
        assert sql(server, "SELECT COUNT(*) FROM conversations WHERE imported_at IS NOT NULL AND status = 'open'") == str(TICKETS // 4)

        # Original times and bytes, as the desk's API gives them.
        number = sql(server, "SELECT number FROM conversations WHERE subject = 'Pedido 7'")
        status, conversation = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/{number}", token)
        assert status == 200 and conversation["created_at"].startswith("2024-03-08T15:15:00"), conversation
        status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/{conversation['number']}/messages", token)
        assert [m["text"] for m in page["data"]] == ["Hola, consulta por el pedido 7", "Respuesta al pedido 7", "Gracias"], page
        attachment = page["data"][0]["attachments"][0]
        status, data = http("GET", f"{server.base}/api/v1/workspaces/{workspace}/attachments/{attachment['id']}",
                            headers={"Authorization": "Bearer " + token})
        assert status == 200 and data == pdf(7)

        # A third run finds everything there.
        again = server.command(*args[1:])
        assert "0 new conversations" in again and f"{TICKETS} unchanged" in again and f"(0 imported before)" not in again, again
    finally:
        files.close()


def test_admin_imports_a_freshdesk_zip_in_chromium(make_server, backend, browser, tmp_path):
    files = Files({"boleta-4471.pdf": pdf(4471), "seguimiento.png": b"\x89PNG\r\n\x1a\n" + bytes(60)}, delay=0)
    try:
        server = make_server()
        token, workspace = server.setup_workspace()
        server.start()
        server.create_api_inbox(token, workspace)
        # The sample's links lead to the file server; the ZIP wraps the folder as a download would.
        folder = tmp_path / "freshdesk-export"
        shutil.copytree(os.path.join(SAMPLES, "freshdesk"), folder)
        archive = tmp_path / "freshdesk-export.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for path in sorted(folder.rglob("*.json")):
                text = path.read_text().replace("https://tiendaluna.freshdesk.com", files.base)
                z.writestr("freshdesk-export/" + str(path.relative_to(folder)), text)
        not_an_export = tmp_path / "notas.zip"
        with zipfile.ZipFile(not_an_export, "w") as z:
            z.writestr("notas.txt", "nada que importar")

        sign_in(browser, server)
        browser.get(server.base + "/app/tienda/settings/import")
        assert "Importar" in browser.find_element(By.TAG_NAME, "h1").text

        def upload(path, format):
            form = browser.find_element(By.ID, "import-form")
            Select(form.find_element(By.NAME, "format")).select_by_value(format)
            Select(form.find_element(By.NAME, "inbox_id")).select_by_visible_text("ERP")
            form.find_element(By.NAME, "export").send_keys(str(path))
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        # Not an export: said on the page, nothing queued.
        upload(not_an_export, "freshdesk")
        problem = wait(browser, 10).until(EC.visibility_of_element_located((By.ID, "import-problem")))
        assert "No se pudo leer la exportación" in problem.text and "tickets.json" in problem.text, problem.text
        assert sql(server, "SELECT COUNT(*) FROM import_runs") == "0"

        upload(archive, "freshdesk")
        # The page looks again by itself while the import runs.
        wait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".import-run[data-status=finished]"))
        run = browser.find_element(By.CSS_SELECTOR, ".import-run")
        assert "Freshdesk → ERP" in run.text and "terminada" in run.text, run.text
        assert "3 conversaciones nuevas" in run.text and "2 adjuntos guardados" in run.text, run.text
        run.find_element(By.CSS_SELECTOR, ".import-problems summary").click()
        problems = run.find_element(By.CSS_SELECTOR, ".import-problems").text
        assert "ticket 2004" in problems and "no tiene una fecha válida" in problems, problems
        assert "ticket 2003" in problems and "estado desconocido «12»" in problems, problems
        shot(browser, "import-finished", backend)

        # The imported conversation is in the desk, with its date of 2024.
        number = sql(server, "SELECT number FROM conversations WHERE subject = 'Llegó el taladro sin batería'")
        status, taladro = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/{number}", token)
        assert status == 200 and taladro["created_at"].startswith("2024-06-03T13:05:11"), taladro
        browser.get(server.base + f"/app/tienda/conversations/{taladro['number']}")
        timeline = wait(browser, 10).until(EC.visibility_of_element_located((By.ID, "timeline")))
        assert "la batería sale hoy" in timeline.text and "Revisé con bodega" in timeline.text, timeline.text

        # The audit log has the import.
        browser.get(server.base + "/app/tienda/settings/audit?category=import")
        assert "Historial importado" in browser.find_element(By.ID, "audit-table").text
    finally:
        files.close()

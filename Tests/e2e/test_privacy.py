"""A person's privacy request, end to end: María writes through the API, by email (with an attachment and the kept
original) and through the public contact form in Chromium; an agent answers her by name. Her export holds all of it;
an admin erases her from her contact page in Chromium, in Spanish; afterwards none of her name, email, phone, words or
attachment bytes is anywhere in the database (the SQLite file and its log searched byte for byte, or everything
pg_dump writes) or in the attachment store, and the reports count what they counted before."""
import base64
import email.policy
import email.utils
import hashlib
import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from email.message import EmailMessage

from atiende_server import http
from test_agent_ui import browser, shot, sign_in, wait  # noqa: F401 (browser is a fixture; skips without Chromium)
from test_email import post_mail
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

NAME = "María Peñaloza Quintanilla"
EMAIL = "maria.quintanilla@correo-privado.cl"
PHONE = "+56987654321"
SECRETS = ["Calle Escondida 4471", "RUT 12.345.678-5", "pedido Zafiro-88213", "Quintanilla"]


def traces(blob):
    """Which of her words a run of bytes still holds, also as the search index writes them (lowercase, no accents)."""
    words = [NAME, "Peñaloza", "Penaloza", "penaloza", EMAIL, "correo-privado", PHONE, "987654321", *SECRETS,
             *[s.lower() for s in SECRETS], "zafiro", "escondida", "quintanilla"]
    return sorted({w for w in words if w.encode() in blob})


def report(server, workspace, token):
    status, overview = server.api("GET", f"/api/v1/workspaces/{workspace}/reports/overview?period=today", token)
    assert status == 200, overview
    return {k: v for k, v in overview.items() if k not in ("generated_at",)}


def test_export_then_erase_a_customer_of_three_channels(make_server, backend, browser, tmp_path):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    api = server.create_api_inbox(token, workspace)
    status, mail = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token,
                              {"name": "Correo", "channel": "email", "settings": {"address": "soporte@tienda.cl"}})
    assert status == 201, mail
    assert server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {"name": "Formulario", "channel": "webform"})[0] == 201

    # Through the API, with a receipt attached.
    receipt = os.urandom(3000) + b"boleta-quintanilla"
    status, answer = server.post_inbound(api, {
        "message_id": "erp-1", "from": {"id": "cliente-771", "name": NAME, "email": EMAIL, "phone": PHONE},
        "text": f"Hola, mi dirección es {SECRETS[0]} y mi {SECRETS[1]}",
        "attachments": [{"filename": "boleta Quintanilla.pdf", "content_type": "application/pdf", "data": base64.b64encode(receipt).decode()}]})
    assert status == 200, answer

    # By email, with a photo; the original is kept as an attachment too.
    photo = os.urandom(2500) + b"foto-quintanilla"
    message = EmailMessage()
    message["From"] = f"{NAME} <{EMAIL}>"
    message["To"] = "soporte@tienda.cl"
    message["Subject"] = f"Reclamo {SECRETS[2]}"
    message["Message-ID"] = email.utils.make_msgid(domain="correo-privado.cl")
    message.set_content(f"Mi {SECRETS[2]} llegó roto. Llamadme al {PHONE}.\n")
    message.add_attachment(photo, maintype="image", subtype="png", filename="roto.png")
    assert post_mail(server, mail, message)[0] == 200

    # Through the public form, in Chromium.
    browser.get(server.base + "/help/tienda/contact")
    browser.find_element(By.NAME, "name").send_keys(NAME)
    browser.find_element(By.NAME, "email").send_keys(EMAIL)
    browser.find_element(By.NAME, "subject").send_keys("Sigo esperando")
    browser.find_element(By.NAME, "message").send_keys(f"Escribo otra vez por el {SECRETS[2]}.")
    time.sleep(3.2)  # the form's minimum time to fill
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "request-number")))

    status, contacts = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts?q=quintanilla", token)
    assert status == 200 and len(contacts["data"]) == 1, contacts
    contact = contacts["data"][0]["id"]
    status, detail = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts/{contact}", token)
    numbers = sorted(c["number"] for c in detail["conversations"])
    assert sorted(c["channel"] for c in detail["conversations"]) == ["api", "email", "webform"], detail
    # The agent answers her by name.
    assert server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/{numbers[0]}/messages", token,
                      {"text": "Hola María Peñaloza, ya revisamos tu pedido."})[0] == 201
    before = report(server, workspace, token)
    assert before["figures"]["created"] >= 3, before

    # Her export: everything, with the files byte for byte.
    status, data = http("GET", f"{server.base}/api/v1/workspaces/{workspace}/contacts/{contact}/export",
                        headers={"Authorization": "Bearer " + token})
    assert status == 200
    archive = zipfile.ZipFile(io.BytesIO(data))
    document = json.loads(archive.read("contact.json"))
    assert document["contact"]["name"] == NAME and document["contact"]["email"] == EMAIL and document["contact"]["phone"] == PHONE
    assert {i["value"] for i in document["contact"]["identities"]} >= {EMAIL, PHONE}
    texts = " ".join(m["text"] for c in document["conversations"] for m in c["messages"])
    for words in (SECRETS[0], SECRETS[2], "Escribo otra vez", "Hola María Peñaloza"):
        assert words in texts, words
    assert len(document["conversations"]) == 3 and document["counts"]["conversations"] == 3
    files = {hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist() if n.startswith("files/")}
    assert {hashlib.sha256(receipt).hexdigest(), hashlib.sha256(photo).hexdigest()} <= files
    assert len(files) == document["counts"]["attachments"] >= 3  # the receipt, the photo, the email's original

    # Erasing is refused without confirmation; the preview changes nothing.
    status, refused = server.api("POST", f"/api/v1/workspaces/{workspace}/contacts/{contact}/erasure", token, {})
    assert status == 400 and refused["error"]["code"] == "confirmation_required", refused
    status, preview = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts/{contact}/erasure", token)
    assert status == 200 and preview["conversations"] == 3 and preview["attachments"] == len(files), preview

    # An admin erases her from her contact page, in Spanish.
    sign_in(browser, server)
    browser.get(f"{server.base}/app/tienda/contacts/{contact}")
    browser.find_element(By.ID, "privacy-erase").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "erase-preview")))
    assert "Conversaciones anonimizadas" in browser.find_element(By.ID, "erase-preview").text
    shot(browser, "privacy-erase", backend)
    browser.find_element(By.CSS_SELECTOR, "#erase-form button[type=submit]").click()
    # The box must be ticked first: the browser keeps the page.
    assert browser.find_elements(By.ID, "erase-preview")
    browser.find_element(By.NAME, "confirm").click()
    browser.find_element(By.CSS_SELECTOR, "#erase-form button[type=submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "erased-banner")))
    assert "Contacto borrado" in browser.page_source and NAME not in browser.page_source
    browser.get(f"{server.base}/app/tienda/conversations/{numbers[0]}")
    assert "Contacto borrado" in browser.page_source and SECRETS[0] not in browser.page_source
    browser.get(f"{server.base}/app/tienda/settings/audit")
    assert "Datos de un contacto borrados" in browser.page_source and "Datos de un contacto exportados" in browser.page_source

    # The reports count what they counted.
    assert report(server, workspace, token) == before
    status, erased = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts/{contact}", token)
    assert erased["contact"].get("name") is None and erased["contact"]["identities"] == [] and erased["contact"]["erased_at"]
    assert len(erased["conversations"]) == 3

    # No trace of her anywhere.
    server.stop()
    store = os.path.join(server.workdir, "data", "files")
    for folder, _, names in os.walk(store):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                blob = f.read()
            assert not traces(blob), (name, traces(blob))
            assert receipt not in blob and photo not in blob
    if backend == "sqlite":
        blob = b""
        for suffix in ("", "-wal"):
            path = os.path.join(server.workdir, "data", "atiende.sqlite" + suffix)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    blob += f.read()
    else:
        dump = shutil.which("pg_dump") or next(iter(sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin/pg_dump"))), "pg_dump")
        blob = subprocess.run([dump, "--data-only", server.env["DATABASE_URL"]], capture_output=True, check=True).stdout
    assert not traces(blob), traces(blob)
    assert receipt[:64] not in blob and photo[:64] not in blob

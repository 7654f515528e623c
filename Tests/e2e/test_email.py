"""Email end to end against the built binary with a real SMTP server as the peer (aiosmtpd, STARTTLS + AUTH on a
self-signed certificate the inbox is told to trust): the customer's mail comes in as raw MIME, the agent's reply reaches
the SMTP server correctly threaded (checked with Python's own email parser), and the customer's answer to it lands in
the same conversation. A recipient the server refuses marks the reply failed with the server's words. The instance's
own mail (SLA breach notices) goes through the same kind of server."""
import email
import email.policy
import email.utils
import json
import ssl
import subprocess
import time
from email.message import EmailMessage

import pytest

from atiende_server import free_port, http, sign

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed (pip install -r Tests/e2e/requirements.txt)")
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402


class Recorder:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nadie@"):
            return "550 5.1.1 <nadie@example.com>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued as 4F2A1"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"atiende" and auth_data.password == b"clave-smtp"
    return AuthResult(success=ok)


@pytest.fixture
def smtp_peer(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    recorder = Recorder()
    controller = aiosmtpd.Controller(recorder, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                                     authenticator=authenticator, auth_require_tls=True)
    controller.start()
    yield controller, recorder, str(cert)
    controller.stop()


def until(predicate, seconds=60, message="condition"):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def post_mail(server, inbox, message):
    raw = message.as_bytes(policy=email.policy.SMTP)
    ts, signature = sign(inbox["secret"], raw)
    return http("POST", f"{server.base}/api/v1/channels/email/{inbox['id']}/messages", raw=raw,
                headers={"Content-Type": "message/rfc822", "X-Atiende-Timestamp": ts, "X-Atiende-Signature": signature})


def test_mail_in_reply_out_threaded_and_back(make_server, backend, smtp_peer):
    controller, recorder, cert = smtp_peer
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Correo", "channel": "email",
        "settings": {"address": "soporte@tienda.cl", "display_name": "Tienda Sur", "signature": "Tienda Sur · soporte@tienda.cl",
                     "smtp_host": "127.0.0.1", "smtp_port": str(controller.port), "smtp_security": "starttls",
                     "smtp_username": "atiende", "smtp_ca_file": cert},
        "secrets": {"smtp_password": "clave-smtp"}})
    assert status == 201, inbox
    # The connection test: EHLO, STARTTLS with the trusted certificate, AUTH.
    status, check = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/check", token)
    assert status == 200 and check["detail"].startswith("SMTP: 220"), check
    # Nothing listening there: the check says so.
    status, wrong = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Correo mal", "channel": "email",
        "settings": {"address": "ventas@tienda.cl", "smtp_host": "127.0.0.1", "smtp_port": str(free_port()), "smtp_security": "starttls"}})
    status, refused = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes/{wrong['id']}/check", token)
    assert status == 503 and "could not connect" in refused["error"]["message"], refused

    first = EmailMessage()
    first["From"] = "Marta Silva <marta@example.com>"
    first["To"] = "soporte@tienda.cl"
    first["Cc"] = "Jefe de Marta <jefe@example.com>"
    first["Subject"] = "Cambio de talla"
    first["Message-ID"] = email.utils.make_msgid(domain="example.com")
    first["Date"] = email.utils.formatdate()
    first.set_content("Hola, ¿puedo cambiar la talla del pedido 5521?\n\nEnviado desde mi iPhone\n")
    status, body = post_mail(server, inbox, first)
    assert status == 200, body

    status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token, {"text": "¡Claro! Envíanos la talla que prefieres."})
    assert status == 201
    try:
        mail_from, rcpt, raw = until(lambda: recorder.messages and recorder.messages[0], message="the reply at the SMTP server")
    except AssertionError:
        raise AssertionError(str(server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)[1]) + open(server.log).read()[-2000:])
    assert mail_from == "soporte@tienda.cl" and rcpt == ["marta@example.com", "jefe@example.com"], rcpt
    reply = email.message_from_bytes(raw, policy=email.policy.default)
    assert reply["From"].addresses[0].addr_spec == "soporte@tienda.cl"
    assert reply["To"].addresses[0].addr_spec == "marta@example.com"
    assert [a.addr_spec for a in reply["Cc"].addresses] == ["jefe@example.com"], "the CC'd person stays on the thread"
    reply_to = reply["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("soporte+") and reply_to.endswith("@tienda.cl")
    assert str(reply["Subject"]) == "Re: Cambio de talla [#1]"
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in reply["References"]
    assert reply["Message-ID"].startswith("<atiende.")
    text = reply.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "¡Claro! Envíanos la talla que prefieres." in text and "-- \nTienda Sur" in text
    assert "> Hola, ¿puedo cambiar la talla del pedido 5521?" in text
    assert reply["Auto-Submitted"] is None
    status, conversation = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    sent = [m for m in conversation["data"] if m["kind"] == "outgoing"][0]
    assert sent["delivery_status"] == "sent" and sent["provider_message_id"] == reply["Message-ID"].strip(" <>")

    # Marta answers from her mail client: to the Reply-To, In-Reply-To our Message-ID, quoting us.
    answer = EmailMessage()
    answer["From"] = "Marta Silva <marta@example.com>"
    answer["To"] = reply["Reply-To"]
    answer["Subject"] = "Re: " + str(reply["Subject"])
    answer["Message-ID"] = email.utils.make_msgid(domain="example.com")
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = reply["References"] + " " + reply["Message-ID"]
    answer.set_content("Talla M, por favor.\n\nEl lun, 23 nov 2026 a las 10:00, Tienda Sur <soporte@tienda.cl> escribió:\n> ¡Claro!\n")
    status, body = post_mail(server, inbox, answer)
    assert status == 200 and json.loads(body)["conversation_number"] == 1, body
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    assert [m["text"] for m in page["data"] if m["kind"] == "incoming"] == ["Hola, ¿puedo cambiar la talla del pedido 5521?", "Talla M, por favor."]

    # The CC'd person answers all: the same conversation, as themselves.
    boss = EmailMessage()
    boss["From"] = "Jefe de Marta <jefe@example.com>"
    boss["To"] = reply["Reply-To"]
    boss["Cc"] = "marta@example.com"
    boss["Subject"] = "Re: " + str(reply["Subject"])
    boss["Message-ID"] = email.utils.make_msgid(domain="example.com")
    boss["In-Reply-To"] = reply["Message-ID"]
    boss.set_content("Autorizo el cambio.")
    status, body = post_mail(server, inbox, boss)
    assert status == 200 and json.loads(body)["conversation_number"] == 1, body
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    assert page["data"][-1]["text"] == "Autorizo el cambio."
    status, conversation = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1", token)
    assert page["data"][-1]["sender_id"] != page["data"][0]["sender_id"], "the boss writes as themselves, not as Marta"

    # A bounce of our reply (a DSN quoting its headers) marks it failed, and opens no conversation.
    dsn = ("Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: soporte@tienda.cl\r\n"
           "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.com>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
           "Your message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
           "Final-Recipient: rfc822; marta@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n"
           "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: " + reply["Message-ID"].strip() + "\r\nSubject: x\r\n--b--\r\n").encode()
    ts, signature = sign(inbox["secret"], dsn)
    status, body = http("POST", f"{server.base}/api/v1/channels/email/{inbox['id']}/messages", raw=dsn,
                        headers={"Content-Type": "message/rfc822", "X-Atiende-Timestamp": ts, "X-Atiende-Signature": signature})
    assert status == 200 and json.loads(body)["bounce"] == reply["Message-ID"].strip(" <>"), body
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    bounced = [m for m in page["data"] if m["kind"] == "outgoing"][0]
    assert bounced["delivery_status"] == "failed" and "5.2.2" in bounced["delivery_error"] and "mailbox full" in bounced["delivery_error"]
    status, conversations = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", token)
    assert len(conversations["data"]) == 1

    # A recipient the server refuses: failed, with the server's words, not retried forever.
    nobody = EmailMessage()
    nobody["From"] = "nadie@example.com"
    nobody["To"] = "soporte@tienda.cl"
    nobody["Subject"] = "Consulta"
    nobody["Message-ID"] = email.utils.make_msgid(domain="example.com")
    nobody.set_content("Hola")
    assert post_mail(server, inbox, nobody)[0] == 200
    server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/2/messages", token, {"text": "Hola, ¿en qué ayudamos?"})
    failed = until(lambda: [m for m in server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/2/messages", token)[1]["data"]
                            if m["delivery_status"] == "failed"], message="the refused reply")[0]
    assert "550" in failed["delivery_error"] and "User unknown" in failed["delivery_error"]


def test_mail_server_relays_over_smtp_and_lmtp(make_server, backend):
    """A mail server relaying to Atiende's receiver (ATIENDE_MAIL_PORT), with Python's smtplib as the relaying client."""
    import smtplib
    port = free_port()
    server = make_server(env={"ATIENDE_MAIL_PORT": str(port)})
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token,
                               {"name": "Correo", "channel": "email", "settings": {"address": "soporte@tienda.cl"}})
    assert status == 201
    until(lambda: _listening(port), message="the mail port")

    # SMTP, with an 8-bit Latin-1 body that must arrive byte for byte.
    raw = ("From: =?iso-8859-1?q?Jos=E9?= <jose@example.com>\r\nTo: soporte@tienda.cl\r\nSubject: Pedido\r\n"
           "Message-ID: <relay-1@example.com>\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Necesito la factura del pedido nº 5521, ¿dónde la encuentro?\r\n.Línea que empieza con punto\r\n").encode("latin-1")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        refused = smtp.sendmail("jose@example.com", ["soporte@tienda.cl", "nadie@tienda.cl"], raw)
        assert list(refused) == ["nadie@tienda.cl"] and refused["nadie@tienda.cl"][0] == 550
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    assert status == 200, page
    message = page["data"][0]
    assert message["text"] == "Necesito la factura del pedido nº 5521, ¿dónde la encuentro?\n.Línea que empieza con punto"
    status, contacts = server.api("GET", f"/api/v1/workspaces/{workspace}/contacts", token)
    assert contacts["data"][0]["name"] == "José"
    original = [a for a in message["attachments"] if a["filename"] == "original.eml"][0]
    status, data = http("GET", f"{server.base}/api/v1/workspaces/{workspace}/attachments/{original['id']}", headers={"Authorization": "Bearer " + token})
    assert data == b"Return-Path: <jose@example.com>\r\n" + raw

    # LMTP: one answer per recipient; the plus-address reaches the same inbox.
    with smtplib.LMTP("127.0.0.1", port, timeout=10) as lmtp:
        msg = EmailMessage()
        msg["From"] = "ana@example.com"
        msg["To"] = "soporte+abc123def456@tienda.cl"
        msg["Subject"] = "Hola"
        msg["Message-ID"] = "<relay-2@example.com>"
        msg.set_content("Consulta por LMTP")
        assert lmtp.send_message(msg) == {}
    status, conversations = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations", token)
    assert len(conversations["data"]) == 2


def _listening(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_sla_breach_mailed_to_people(make_server, backend, smtp_peer):
    """The instance's own mail (ATIENDE_SMTP_URL, STARTTLS + AUTH with a private CA): a breached deadline
    reaches people by email, in their language, with the link to the conversation, once."""
    controller, recorder, cert = smtp_peer
    server = make_server()
    server.env.update({"ATIENDE_SMTP_URL": f"smtp://atiende:clave-smtp@127.0.0.1:{controller.port}?ca_file={cert}",
                       "ATIENDE_MAIL_FROM": "avisos@tienda.cl", "ATIENDE_PUBLIC_URL": server.base})
    token, workspace = server.setup_workspace()
    server.start()
    status, policy = server.api("POST", f"/api/v1/workspaces/{workspace}/sla-policies", token, {
        "name": "Express", "is_default": True, "rules": {"rules": [{"targets": {"first_response": 2}}], "business_time": False}})
    assert status == 201, policy
    inbox = server.create_api_inbox(token, workspace)
    status, _ = server.post_inbound(inbox, {"message_id": "sla-1", "from": {"id": "c-1", "name": "Marta"}, "text": "¿Y mi pedido?",
                                            "subject": "Pedido 4411"})
    assert status == 200
    # The deadline scan runs every 5 seconds; the breach goes to the admin (supervisor of the workspace).
    breach = until(lambda: next((m for m in recorder.messages if b"venci" in m[2]), None), seconds=30, message="the breach mail")
    sender, recipients, raw = breach
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert recipients == ["admin@example.com"] and sender == "avisos@tienda.cl", (sender, recipients)
    assert parsed["Subject"] == "[Tienda] El plazo de #1 venció — Pedido 4411", parsed["Subject"]
    assert parsed["Auto-Submitted"] == "auto-generated"
    body = parsed.get_body(("plain",)).get_content()
    assert "Plazo: Primera respuesta." in body and "Cliente: Marta" in body, body
    assert f"{server.base}/app/" in body and "/conversations/1" in body, body
    # Only once, however many scans pass.
    time.sleep(6)
    assert sum(1 for m in recorder.messages if b"venci" in m[2]) == 1



def test_receiver_says_try_later_while_postgres_is_down():
    """A real PostgreSQL server of its own, stopped under a running instance: the relaying client (smtplib) gets 451, never
    a 550 that would bounce the customer's mail, and its retry after the database is back is stored once."""
    import glob
    import os
    import smtplib
    from atiende_server import ROOT, Server
    from conftest import BINARY
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        pytest.skip("no PostgreSQL server binaries")
    import pathlib
    import tempfile
    base = tempfile.mkdtemp(prefix="atiende-pg-down-", dir="/tmp")
    os.chmod(base, 0o755)  # the postgres user must reach it
    pg_dir = pathlib.Path(base) / "server"
    pg_port = free_port()
    url = subprocess.run([os.path.join(ROOT, "scripts", "pg-start"), str(pg_dir), str(pg_port)], capture_output=True, text=True, check=True).stdout.strip()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    pg_ctl = [*as_pg, os.path.join(bins[-1], "pg_ctl"), "-D", str(pg_dir / "data")]
    mail_port = free_port()
    server = Server(BINARY, database_url=url, env={"ATIENDE_MAIL_PORT": str(mail_port)})
    try:
        token, workspace = server.setup_workspace()
        server.start()
        status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token,
                               {"name": "Correo", "channel": "email", "settings": {"address": "soporte@tienda.cl"}})
        assert status == 201
        until(lambda: _listening(mail_port), message="the mail port")
        msg = EmailMessage()
        msg["From"] = "ana@example.com"
        msg["To"] = "soporte@tienda.cl"
        msg["Subject"] = "¿Y mi pedido?"
        msg["Message-ID"] = "<pg-down-1@example.com>"
        msg.set_content("Sigo esperando la respuesta")

        subprocess.run([*pg_ctl, "stop", "-m", "fast"], check=True, capture_output=True)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            with smtplib.SMTP("127.0.0.1", mail_port, timeout=30) as smtp:
                smtp.send_message(msg)
        code, _ = refused.value.recipients["soporte@tienda.cl"]
        assert code == 451, refused.value.recipients

        subprocess.run([*pg_ctl, "-l", str(pg_dir / "pg.log"), "-w", "-o",
                        f"-c listen_addresses=127.0.0.1 -c port={pg_port} -c unix_socket_directories={pg_dir}", "start"],
                       check=True, capture_output=True)

        def retried():
            try:
                with smtplib.SMTP("127.0.0.1", mail_port, timeout=30) as smtp:
                    return smtp.send_message(msg) == {}
            except smtplib.SMTPException:
                return False  # the pool may need a moment to reconnect: the relay simply tries again
        until(retried, message="the retry accepted")
        with smtplib.SMTP("127.0.0.1", mail_port, timeout=30) as smtp:
            smtp.send_message(msg)
        status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
        assert status == 200 and [m["provider_message_id"] for m in page["data"] if m["kind"] == "incoming"] == ["pg-down-1@example.com"]
    finally:
        server.cleanup()
        subprocess.run([os.path.join(ROOT, "scripts", "pg-stop"), str(pg_dir)], capture_output=True)
        subprocess.run(["rm", "-rf", base])

"""IMAP import against a real Dovecot (Debian dovecot-imapd, a private instance as in TESTING.md): mail appended to the
mailbox becomes conversations, unread; a server killed and restarted re-imports nothing; on PostgreSQL two instances
polling the same mailbox import each mail once."""
import email.utils
import imaplib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from email.message import EmailMessage

import pytest

from atiende_server import free_port
from test_email import smtp_peer  # noqa: F401 (a fixture)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
if not (os.path.exists(DOVECOT) and os.path.exists(DOVEADM)):
    pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)", allow_module_level=True)


@pytest.fixture
def dovecot():
    yield from private_dovecot()


def private_dovecot(tls=False):
    """A private Dovecot on a free loopback port with one mailbox (soporte@example.com / secreto); yields the port, or
    with `tls` the implicit-TLS port and the certificate to trust."""
    d = tempfile.mkdtemp(prefix="atiende-dovecot-")
    os.chmod(d, 0o755)
    for sub in ("mail", "run", "state"):
        os.makedirs(os.path.join(d, sub))
    group = subprocess.run(["id", "-gn", "nobody"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["chown", "-R", f"nobody:{group}", os.path.join(d, "mail")], check=True)
    uid = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout.strip()
    gid = subprocess.run(["id", "-g", "nobody"], capture_output=True, text=True).stdout.strip()
    hashed = subprocess.run([DOVEADM, "pw", "-s", "SHA512-CRYPT", "-p", "secreto"], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(d, "users"), "w") as f:
        f.write(f"soporte@example.com:{hashed}:{uid}:{gid}::{d}/mail/%u\n")
    port = free_port()
    tls_port = free_port() if tls else 0
    if tls:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    ssl_lines = f"ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem" if tls else "ssl = no"
    with open(os.path.join(d, "dovecot.conf"), "w") as f:
        f.write(f"""protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
    subprocess.run([DOVECOT, "-c", os.path.join(d, "dovecot.conf")], check=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            imaplib.IMAP4("127.0.0.1", port).logout()
            break
        except OSError:
            time.sleep(0.2)
    yield (tls_port, f"{d}/cert.pem") if tls else port
    pid = int(open(os.path.join(d, "run", "master.pid")).read().strip())
    os.kill(pid, signal.SIGTERM)
    shutil.rmtree(d, ignore_errors=True)


def append(port, n, sender="cliente@example.com", padding=0):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("soporte@example.com", "secreto")
    for i in range(n):
        msg = EmailMessage()
        msg["From"] = f"Cliente {i} <{sender.replace('@', f'+{i}@') if '+' not in sender else sender}>"
        msg["To"] = "soporte@example.com"
        msg["Subject"] = f"Consulta {i}"
        msg["Message-ID"] = email.utils.make_msgid(domain="example.com")
        msg["Date"] = email.utils.formatdate()
        msg.set_content(f"Hola, esta es la consulta número {i}." + ("\n" + "x" * 70) * padding)
        imap.append("INBOX", None, None, msg.as_bytes())
    imap.logout()


def unseen(port):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("soporte@example.com", "secreto")
    imap.select("INBOX")
    _, data = imap.search(None, "UNSEEN")
    imap.logout()
    return len(data[0].split())


def messages(server, token, workspace):
    """(open conversations, their messages), over every page."""
    conversations = total = 0
    cursor = ""
    while True:
        status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations?limit=100&status=open{cursor}", token)
        conversations += len(page["data"])
        total += sum(c["message_count"] for c in page["data"])
        if not page.get("next_cursor"):
            return conversations, total
        cursor = "&cursor=" + page["next_cursor"]


def until(predicate, seconds=90, message="condition"):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def email_inbox(server, token, workspace, port):
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Correo", "channel": "email",
        "settings": {"address": "soporte@example.com", "imap_host": "127.0.0.1", "imap_port": str(port), "imap_security": "none",
                     "imap_username": "soporte@example.com"},
        "secrets": {"imap_password": "secreto"}})
    assert status == 201, inbox
    return inbox


def test_imap_import_restart_and_unread(make_server, backend, dovecot):
    append(dovecot, 3)
    server = make_server(env={"ATIENDE_IMAP_POLL_SECONDS": "1"})
    token, workspace = server.setup_workspace()
    server.start()
    email_inbox(server, token, workspace, dovecot)
    until(lambda: messages(server, token, workspace) == (3, 3), message="three imported conversations")
    assert unseen(dovecot) == 3, "imported with BODY.PEEK: still unread for the people who read the mailbox"

    # Killed without warning, more mail arrives, started again: only the new mail is imported.
    server.kill9()
    append(dovecot, 2, sender="otro@example.com")
    server.start()
    until(lambda: messages(server, token, workspace) == (5, 5), message="the two new ones")
    time.sleep(2.5)
    assert messages(server, token, workspace) == (5, 5), "nothing imported twice"


def test_two_instances_import_each_mail_once(make_server, backend, dovecot):
    if backend != "postgres":
        pytest.skip("several instances share a PostgreSQL database")
    first = make_server(env={"ATIENDE_IMAP_POLL_SECONDS": "1"})
    token, workspace = first.setup_workspace()
    first.start()
    email_inbox(first, token, workspace, dovecot)
    second = make_server(env={"ATIENDE_IMAP_POLL_SECONDS": "1"})
    second.env["DATABASE_URL"] = first.env["DATABASE_URL"]
    second.env["ATIENDE_SECRET_KEY"] = open(os.path.join(first.workdir, "data", "secret.key")).read().strip()
    second.start()
    append(dovecot, 8)
    until(lambda: messages(first, token, workspace) == (8, 8), message="eight imported")
    time.sleep(3)
    assert messages(first, token, workspace) == (8, 8)


def test_mail_by_imap_reply_by_smtp_answer_by_imap(make_server, backend, dovecot, smtp_peer):
    """The whole loop with real peers: a customer's mail arrives by IMAP (Dovecot), the agent's reply reaches the SMTP
    server threaded, and the customer's answer to it — delivered to the same mailbox — lands in the same conversation."""
    import email as email_lib
    import email.policy
    controller, recorder, cert = smtp_peer
    server = make_server(env={"ATIENDE_IMAP_POLL_SECONDS": "1"})
    token, workspace = server.setup_workspace()
    server.start()
    status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
        "name": "Correo", "channel": "email",
        "settings": {"address": "soporte@example.com", "imap_host": "127.0.0.1", "imap_port": str(dovecot), "imap_security": "none",
                     "imap_username": "soporte@example.com", "smtp_host": "127.0.0.1", "smtp_port": str(controller.port),
                     "smtp_security": "starttls", "smtp_username": "atiende", "smtp_ca_file": cert},
        "secrets": {"imap_password": "secreto", "smtp_password": "clave-smtp"}})
    assert status == 201, inbox
    status, check = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes/{inbox['id']}/check", token)
    assert status == 200 and check["detail"].startswith("SMTP: 220") and "IMAP: INBOX, 0 messages" in check["detail"], check
    first = EmailMessage()
    first["From"] = "Rosa Díaz <rosa@example.com>"
    first["To"] = "soporte@example.com"
    first["Subject"] = "¿Llegó mi devolución?"
    first["Message-ID"] = email.utils.make_msgid(domain="example.com")
    first.set_content("Devolví las zapatillas el lunes. ¿Les llegaron?")
    imap = imaplib.IMAP4("127.0.0.1", dovecot)
    imap.login("soporte@example.com", "secreto")
    imap.append("INBOX", None, None, first.as_bytes())
    until(lambda: messages(server, token, workspace) == (1, 1), message="the mail imported")

    server.api("POST", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token, {"text": "Sí, llegaron ayer. Te reembolsamos hoy."})
    until(lambda: recorder.messages, message="the reply at the SMTP server")
    reply = email_lib.message_from_bytes(recorder.messages[0][2], policy=email.policy.default)
    assert reply["In-Reply-To"] == first["Message-ID"] and "[#1]" in str(reply["Subject"])

    answer = EmailMessage()
    answer["From"] = "Rosa Díaz <rosa@example.com>"
    answer["To"] = reply["Reply-To"]
    answer["Subject"] = "Re: " + str(reply["Subject"])
    answer["Message-ID"] = email.utils.make_msgid(domain="example.com")
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = reply["References"] + " " + reply["Message-ID"]
    answer.set_content("¡Gracias!\n\nEl lun, Tienda <soporte@example.com> escribió:\n> Sí, llegaron ayer.")
    imap.append("INBOX", None, None, answer.as_bytes())
    imap.logout()
    until(lambda: messages(server, token, workspace) == (1, 3), message="the answer in the same conversation")
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/1/messages", token)
    assert [m["text"] for m in page["data"]][-1] == "¡Gracias!"


def test_connection_dropped_mid_fetch_reimports_nothing(make_server, backend, dovecot):
    """A proxy between us and Dovecot cuts the first connection in the middle of a fetch; the next poll resumes and every
    mail is stored exactly once."""
    import socket
    import threading
    append(dovecot, 150, padding=30)  # ~2.5 KB each: the cut falls in the second chunk of 100
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    state = {"cut": False, "connections": 0}

    def pipe(src, dst, count):
        total = 0
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                total += len(data)
                if count and not state["cut"] and total > 300_000:
                    state["cut"] = True
                    raise ConnectionError("cut")
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            state["connections"] += 1
            upstream = socket.create_connection(("127.0.0.1", dovecot))
            threading.Thread(target=pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, True), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    server = make_server(env={"ATIENDE_IMAP_POLL_SECONDS": "1", "LOG_LEVEL": "info"})
    token, workspace = server.setup_workspace()
    server.start()
    email_inbox(server, token, workspace, listener.getsockname()[1])
    try:
        until(lambda: messages(server, token, workspace)[1] == 150, seconds=60, message="all 150 imported")
    except AssertionError as failure:
        raise AssertionError(f"{failure}: {messages(server, token, workspace)[1]} stored; {state}; the server said:\n"
                             + open(server.log).read()[-6000:]) from None
    assert state["cut"] and state["connections"] >= 2, state
    time.sleep(2.5)
    assert messages(server, token, workspace)[1] == 150, "nothing imported twice"
    listener.close()


def test_imap_over_tls(make_server, backend):
    """Implicit TLS (port 993-style) against Dovecot with a certificate the inbox is told to trust."""
    mailbox = private_dovecot(tls=True)
    port, cert = next(mailbox)
    try:
        imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=__import__("ssl").create_default_context(cafile=cert))
        imap.login("soporte@example.com", "secreto")
        msg = EmailMessage()
        msg["From"] = "tls@example.com"
        msg["To"] = "soporte@example.com"
        msg["Subject"] = "Por TLS"
        msg["Message-ID"] = email.utils.make_msgid(domain="example.com")
        msg.set_content("Llegó cifrado.")
        imap.append("INBOX", None, None, msg.as_bytes())
        imap.logout()
        server = make_server(env={"ATIENDE_IMAP_POLL_SECONDS": "1"})
        token, workspace = server.setup_workspace()
        server.start()
        status, inbox = server.api("POST", f"/api/v1/workspaces/{workspace}/inboxes", token, {
            "name": "Correo", "channel": "email",
            "settings": {"address": "soporte@example.com", "imap_host": "127.0.0.1", "imap_port": str(port), "imap_security": "tls",
                         "imap_username": "soporte@example.com", "imap_ca_file": cert},
            "secrets": {"imap_password": "secreto"}})
        assert status == 201, inbox
        until(lambda: messages(server, token, workspace) == (1, 1), message="the mail imported over TLS")
    finally:
        try:
            next(mailbox)
        except StopIteration:
            pass

"""The restore drill: customers keep writing while `atiende backup` runs; the archive is checked, a tampered copy is
refused, and it is restored into a fresh database and data folder, where every message acknowledged before the backup
began is found again, its attachment byte for byte; a restore into a database that is not empty is refused."""
import base64
import hashlib
import os
import shutil
import threading
import zipfile

import pytest

from atiende_server import Server, create_postgres_database, http
from conftest import BINARY


def messages(server, workspace, token, number):
    status, page = server.api("GET", f"/api/v1/workspaces/{workspace}/conversations/{number}/messages?limit=200", token)
    assert status == 200, page
    return page["data"]


def restored(server, workspace, token, numbers):
    """Every message of those conversations as (text, attachment SHA-256 or None)."""
    found = {}
    for number in numbers:
        for message in messages(server, workspace, token, number):
            digest = None
            for attachment in message.get("attachments", []):
                status, data = http("GET", f"{server.base}/api/v1/workspaces/{workspace}/attachments/{attachment['id']}",
                                    headers={"Authorization": "Bearer " + token})
                assert status == 200
                digest = hashlib.sha256(data).hexdigest()
            found[message["text"]] = digest
    return found


def test_backup_while_customers_write_then_restore(make_server, backend, tmp_path):
    source = make_server()
    token, workspace = source.setup_workspace()
    source.start()
    inbox = source.create_api_inbox(token, workspace)

    acknowledged = {}  # text → SHA-256 of its attachment, or None
    numbers = set()

    def post(n, label):
        body = {"message_id": f"{label}-{n}", "from": {"id": f"c-{n % 5}", "name": f"Cliente {n % 5}"}, "text": f"{label} {n}"}
        digest = None
        if n % 3 == 0:
            data = os.urandom(2048) + f"{label}{n}".encode()
            body["attachments"] = [{"filename": f"boleta-{n}.pdf", "content_type": "application/pdf", "data": base64.b64encode(data).decode()}]
            digest = hashlib.sha256(data).hexdigest()
        status, answer = source.post_inbound(inbox, body)
        return status, answer, digest

    for n in range(30):
        status, answer, digest = post(n, "antes")
        assert status == 200, answer
        acknowledged[f"antes {n}"] = digest
    numbers.update(range(1, 6))

    # Load keeps posting while the backup runs.
    stop = threading.Event()
    during = []

    def load():
        n = 0
        while not stop.is_set():
            status, _, _ = post(n, "durante")
            during.append(status)
            n += 1

    writer = threading.Thread(target=load)
    writer.start()
    try:
        folder = tmp_path / "backups"
        out = source.command("backup", "--to", str(folder))
    finally:
        stop.set()
        writer.join()
    assert during and all(status == 200 for status in during), during[-5:]
    [archive] = [str(p) for p in folder.glob("atiende-backup-*.zip")]
    assert "Wrote " + archive in out
    assert oct(os.stat(archive).st_mode & 0o777) == "0o600"
    assert "is intact" in source.command("backup", "verify", archive)
    source.stop()

    # A tampered copy: one byte of a stored attachment changed.
    tampered = str(tmp_path / "tampered.zip")
    shutil.copy(archive, tampered)
    with zipfile.ZipFile(archive) as z:
        info = next(i for i in z.infolist() if i.filename.startswith("files/"))
    with open(tampered, "r+b") as f:
        f.seek(info.header_offset + 26)  # the local header's name and extra lengths; the data follows them
        local = f.read(4)
        offset = info.header_offset + 30 + int.from_bytes(local[:2], "little") + int.from_bytes(local[2:], "little") + 10
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))

    target_db = create_postgres_database(os.environ["ATIENDE_TEST_DATABASE_URL"]) if backend == "postgres" else None
    target = Server(BINARY, database_url=target_db)
    try:
        with pytest.raises(RuntimeError) as refused:
            target.command("backup", "verify", tampered)
        assert "damaged or was altered" in str(refused.value)
        with pytest.raises(RuntimeError) as refused:
            target.command("restore", tampered)
        assert "damaged or was altered" in str(refused.value) and "nothing was restored" in str(refused.value)

        out = target.command("restore", archive)
        assert "Restored" in out, out
        target.start()
        found = restored(target, workspace, token, sorted(numbers))
        missing = [text for text in acknowledged if text not in found]
        assert not missing, missing
        wrong = [text for text, digest in acknowledged.items() if found[text] != digest]
        assert not wrong, wrong
        target.stop()

        # Into a database that now has everything: refused, and it is unchanged.
        with pytest.raises(RuntimeError) as refused:
            target.command("restore", archive)
        assert "is not empty" in str(refused.value)
        target.start()
        assert restored(target, workspace, token, sorted(numbers)) == found
    finally:
        target.cleanup()

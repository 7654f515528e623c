"""The API under schemathesis: generated requests from `/api/v1/openapi.json` (valid and invalid ones, stateful
sequences that reuse what earlier answers returned) against the real binary with a real workspace. No request may
make the server fail (5xx), and every status it answers must be one the document declares."""
import os
import subprocess
import sys

SECONDS = os.environ.get("ATIENDE_API_FUZZ_SECONDS", "60")


def test_schemathesis_finds_no_server_errors(make_server, backend, tmp_path):
    server = make_server()
    token, workspace = server.setup_workspace()
    server.start()
    # Some records for the operations that read or change one.
    inbox = server.create_api_inbox(token, workspace)
    server.post_inbound(inbox, {"message_id": "fz-1", "from": {"id": "c-1", "name": "Lucía", "email": "lucia@example.com"},
                                "text": "Hola"})
    status, _ = server.api("POST", f"/api/v1/workspaces/{workspace}/teams", token, {"name": "Nivel 2"})
    assert status == 201
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'headers = {{ Authorization = "Bearer {token}" }}\n'
        f'[parameters]\nworkspaceId = "{workspace}"\ninboxId = "{inbox["id"]}"\nnumber = 1\n')
    cli = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    run = subprocess.run(
        [cli, "--config-file", str(config), "run", server.base + "/api/v1/openapi.json",
         "--checks", "not_a_server_error,status_code_conformance",
         # Raw MIME has no generator; its own tests post real mail.
         "--exclude-operation-id", "emailChannelInbound",
         "--max-time", SECONDS, "--max-examples", "50", "--workers", "2", "--seed", "1"],
        capture_output=True, text=True, timeout=int(SECONDS) + 240, cwd=tmp_path)  # its cache stays out of the tree
    print(run.stdout[-6000:])
    if run.returncode != 0:
        print("SERVERLOG", "\n".join(l for l in open(server.log).read().splitlines() if "rror" in l or "WARN" in l)[-5000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout

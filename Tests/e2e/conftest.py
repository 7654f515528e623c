import os

import pytest

from atiende_server import ROOT, Server, create_postgres_database

BINARY = os.environ.get("ATIENDE_BIN", os.path.join(ROOT, ".build", "debug", "atiende"))

BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("ATIENDE_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def make_server(backend):
    """Makes servers on the chosen database; cleans them up afterwards."""
    servers = []
    database_url = create_postgres_database(os.environ["ATIENDE_TEST_DATABASE_URL"]) if backend == "postgres" else None

    def make(**kwargs):
        server = Server(BINARY, database_url=database_url, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.cleanup()

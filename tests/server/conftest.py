"""Server fixtures: every storage and HTTP test runs against SQLite and against a real PostgreSQL."""

from __future__ import annotations

import pytest

from caja_tui.server.storage import ServerStorage
from tests.pg import Cluster
from tests.server_proc import ServerProcess

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "server.db")
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def storage(db_url):
    s = ServerStorage(db_url).open()
    yield s
    s.close()


@pytest.fixture(params=BACKENDS, scope="module")
def server(request, tmp_path_factory):
    """A real gunicorn `caja serve` per backend, shared by a module's tests (each test uses its own store)."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("srv") / "server.db")
    else:
        url = request.getfixturevalue("pg_cluster").new_database()
    log = tmp_path_factory.mktemp("log") / "server.jsonl"
    proc = ServerProcess(url, workers=2, log=log).start()
    proc.backend = request.param
    yield proc
    proc.stop()

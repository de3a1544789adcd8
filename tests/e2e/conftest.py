import pytest

from tests.server_proc import ServerProcess


@pytest.fixture
def server(tmp_path):
    """A real `caja serve` (gunicorn, SQLite) of the test's own, on 127.0.0.1."""
    srv = ServerProcess(str(tmp_path / "server.db"), workers=2).start()
    yield srv
    srv.stop()

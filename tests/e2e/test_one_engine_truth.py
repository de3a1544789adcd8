"""What the sync log and `caja status` say is true when they say it (issue 15), real `caja serve` and `caja`
processes: a round's `sync_start` counts what it is about to push, and an error is shown only until a sync
goes through."""

from __future__ import annotations

import json

from tests.integration.test_cli import caja, init_synced


def logged(path, event: str) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line["event"] == event]


def test_the_log_counts_what_a_round_pushes_and_status_forgets_an_error_once_a_sync_goes_through(server, tmp_path):
    cfg = tmp_path / "t1.toml"
    assert init_synced(cfg, "T1", server.url, server.enroll("shop", "T1"), "--demo").returncode == 0
    new_token = server.enroll("shop", "T1")  # the till's token is replaced on the server: the old one stops
    refused, log = caja("--config", str(cfg), "sync", "--once", "--log", str(tmp_path / "a.log")), tmp_path / "a.log"
    assert refused.returncode == 1
    assert [e["pending"] for e in logged(log, "sync_start")] == [482]  # the demo's catalog and users wait
    assert "last error: server said 401" in caja("--config", str(cfg), "status").stdout
    assert caja("--config", str(cfg), "token", "set", env={"CAJA_TOKEN": new_token}).returncode == 0
    log = tmp_path / "b.log"
    assert caja("--config", str(cfg), "sync", "--once", "--log", str(log)).returncode == 0
    assert [e["pending"] for e in logged(log, "sync_start")] == [e["pushed"] for e in logged(log, "sync_success")]
    assert [e["pushed"] for e in logged(log, "sync_success")] == [482]
    status = caja("--config", str(cfg), "status")
    assert "pending 0" in status.stdout and "last error" not in status.stdout, status.stdout

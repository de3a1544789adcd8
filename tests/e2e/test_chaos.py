"""The short version of `make chaos`: two tills, a server and a fault-injecting proxy as processes, SIGKILLs
and restarts for 20 seconds, the server away for 5 of them while the tills gossip over a faulty LAN; nothing committed is lost, nothing is doubled, every till ends the same."""

from __future__ import annotations

from tests.chaos import run


def test_selling_through_kills_restarts_and_network_faults_loses_and_doubles_nothing(tmp_path):
    report = run(tmp_path, tills=2, seconds=20, seed=3, say=lambda *_: None, outage_s=5)
    assert report.problems == []
    assert report.sales_committed > 50 and report.sales_on_server >= report.sales_committed
    assert (report.duplicates, report.lost, report.lost_locally) == (0, 0, 0)
    assert report.converged and report.verified
    assert report.peers_converged == "yes"  # half way, the server was away and the tills converged through peers
    assert sum(report.chaos.values()) >= 5  # the chaos did happen
    assert report.faults["pass"] < sum(report.faults.values())

"""The till's clock is trusted only when it can be: plausible, not behind the last sale, and on a machine
without a clock chip only once network time has arrived."""

from caja_tui.host.clockcheck import clock_problem

NOW = 1_764_270_000_000


def _machine(tmp_path, *, rtc: bool, systemd: bool, synced: bool):
    (tmp_path / "class" / "rtc").mkdir(parents=True)
    if rtc:
        (tmp_path / "class" / "rtc" / "rtc0").mkdir()
    if systemd:
        (tmp_path / "run" / "systemd" / "system").mkdir(parents=True)
    if synced:
        (tmp_path / "run" / "systemd" / "timesync").mkdir(parents=True)
        (tmp_path / "run" / "systemd" / "timesync" / "synchronized").touch()
    return {
        "rtc_dir": tmp_path / "class" / "rtc",
        "ntp_synced": tmp_path / "run/systemd/timesync/synchronized",
        "systemd": tmp_path / "run" / "systemd" / "system",
    }


def test_a_pi_that_booted_in_1970_is_told_to_set_the_date(tmp_path):
    m = _machine(tmp_path, rtc=False, systemd=True, synced=False)
    assert clock_problem(86_400_000, 0, **m) == "CLOCK WRONG: the date is in the past, set it"


def test_a_clock_behind_the_last_sale_is_wrong(tmp_path):
    m = _machine(tmp_path, rtc=True, systemd=True, synced=True)
    assert clock_problem(NOW, NOW + 6 * 60_000, **m) == "CLOCK WRONG: behind the last sale, check the time"
    assert clock_problem(NOW, NOW + 60_000, **m) is None  # a minute of drift between tills is not alarming


def test_no_clock_chip_waits_for_network_time(tmp_path):
    m = _machine(tmp_path, rtc=False, systemd=True, synced=False)
    assert clock_problem(NOW, NOW - 1000, **m) == "CLOCK NOT CHECKED: no clock chip, no network time yet"
    (tmp_path / "run/systemd/timesync").mkdir(parents=True)
    (tmp_path / "run/systemd/timesync/synchronized").touch()
    assert clock_problem(NOW, NOW - 1000, **m) is None


def test_a_clock_chip_or_a_machine_without_systemd_is_trusted(tmp_path):
    assert clock_problem(NOW, 0, **_machine(tmp_path / "a", rtc=True, systemd=True, synced=False)) is None
    assert clock_problem(NOW, 0, **_machine(tmp_path / "b", rtc=False, systemd=False, synced=False)) is None

"""Is the till's clock to be trusted? A Raspberry Pi has no real-time clock: it boots at 1970, or at the
time it was last shut down (fake-hwclock), until network time arrives. Sales stamped with a wrong time end
up in the wrong day's report, so the till says so, calmly, until the clock is right.

The sync engine adds its own check against the server's clock (`clock_warning` in the sync figures).
"""

from __future__ import annotations

from pathlib import Path

PLAUSIBLE_MS = 1_700_000_000_000  # November 2023: no Caja till ever sold before
BEHIND_MS = 5 * 60 * 1000
RTC_DIR = Path("/sys/class/rtc")
NTP_SYNCED = Path("/run/systemd/timesync/synchronized")  # systemd-timesyncd touches it once time is synced
SYSTEMD_RUNNING = Path("/run/systemd/system")  # exists when systemd is the init (and timesyncd can report)


def clock_problem(
    now_ms: int,
    newest_event_ms: int,
    *,
    rtc_dir: Path = RTC_DIR,
    ntp_synced: Path = NTP_SYNCED,
    systemd: Path = SYSTEMD_RUNNING,
) -> str | None:
    """None when the clock can be trusted, else a short reason for the status line."""
    if now_ms < PLAUSIBLE_MS:
        return "CLOCK WRONG: the date is in the past, set it"
    if newest_event_ms - now_ms > BEHIND_MS:
        return "CLOCK WRONG: behind the last sale, check the time"
    has_rtc = rtc_dir.is_dir() and any(rtc_dir.glob("rtc*"))
    if not has_rtc and rtc_dir.parent.is_dir() and systemd.is_dir() and not ntp_synced.exists():
        return "CLOCK NOT CHECKED: no clock chip, no network time yet"
    return None

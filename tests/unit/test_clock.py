from caja_tui.domain.clock import HybridClock, counter_of, pack, wall_of


class Wall:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def test_clock_follows_the_wall_clock_when_it_moves_forward():
    w = Wall(1000)
    c = HybridClock(w)
    a = c.tick()
    w.t = 2000
    b = c.tick()
    assert wall_of(a) == 1000 and wall_of(b) == 2000 and b > a


def test_clock_stays_monotonic_when_the_wall_clock_jumps_back():
    w = Wall(1_764_270_000_000)
    c = HybridClock(w)
    before = [c.tick() for _ in range(3)]
    w.t = 0  # a Pi without an RTC boots in 1970
    after = [c.tick() for _ in range(3)]
    stamps = before + after
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert wall_of(after[-1]) == 1_764_270_000_000


def test_observing_a_remote_stamp_puts_later_ticks_after_it():
    w = Wall(1000)
    c = HybridClock(w)
    remote = pack(5000, 7)
    c.observe(remote)
    assert c.tick() > remote


def test_counter_overflow_carries_into_the_milliseconds():
    w = Wall(1000)
    c = HybridClock(w, last=pack(1000, 0xFFFF))
    t = c.tick()
    assert wall_of(t) == 1001 and counter_of(t) == 0


def test_uuid7_is_a_valid_version_7_uuid_ordered_by_time():
    import uuid

    from caja_tui.domain.ids import uuid7

    a, b = uuid7(1000), uuid7(2000)
    for x in (a, b):
        u = uuid.UUID(x)
        assert u.version == 7 and u.variant == uuid.RFC_4122 and str(u) == x
    assert a < b and uuid7(1000) != a


def test_a_remote_stamp_never_drags_the_clock_more_than_five_minutes_ahead():
    w = Wall(1_764_270_000_000)
    c = HybridClock(w)
    assert c.observe(pack(w.t + 60_000)) is True  # a minute ahead: taken as it is
    assert wall_of(c.tick()) == w.t + 60_000
    assert c.observe((1 << 63) - 1) is False  # a hostile or broken stamp: bounded, no overflow later
    stamp = c.tick()
    assert wall_of(stamp) <= w.t + 5 * 60_000 + 1 and stamp < (1 << 63)
    assert c.observe(pack(w.t + 100 * 365 * 86_400_000)) is False  # a server a century ahead
    assert wall_of(c.tick()) <= w.t + 5 * 60_000 + 1


def test_the_own_chain_keeps_the_clock_monotonic_even_beyond_the_bound():
    w = Wall(1_764_270_000_000)
    c = HybridClock(w)
    own = c.tick()
    w.t = 0  # the Pi rebooted in 1970: its own last stamp still orders what comes next
    c2 = HybridClock(w)
    c2.follow(own)
    assert c2.tick() > own

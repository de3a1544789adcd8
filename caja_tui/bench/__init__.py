"""`caja bench`: the figures a shop measures on its own hardware.

figures.py runs every measure and prints them (`run_bench`, the goals, the size each was measured at);
store.py measures the till's SQLite file, server.py the sync server, sync.py a till syncing with it,
terminal.py the real till in a pseudo-terminal. data.py holds what they share (a scratch till, a catalogue, a
history of events, a timed checkout); it imports none of them, so every arrow points one way."""

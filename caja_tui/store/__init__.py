"""The disk adapter: Peewee on SQLite (WAL, synchronous=FULL). The event table is also the sync outbox."""

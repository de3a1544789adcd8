"""The sync server (`caja serve`): a Falcon WSGI app on gunicorn, storing events through Peewee on SQLite or
PostgreSQL. The contract is PROTOCOL.md."""

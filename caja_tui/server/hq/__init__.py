"""The owner's back office (`/hq/`): owners and their sessions, read models folded from the stored events,
and server-rendered pages.

owners.py, sessions.py: who logs in; models.py: the hq tables; fold.py, writer.py, projector.py: the read
models; queries.py: what the pages read; routes.py, templates/: the pages; svg.py: the charts; admin.py: the
`caja serve owners|rebuild|verify` commands. Nothing here is on the ingest path (ingest.py, storage.py).
"""

"""The owner's back office (`/hq/`): owners and their sessions, read models folded from the stored events,
and server-rendered pages.

owners.py, sessions.py: who logs in; models.py: the hq tables; fold.py, writer.py, projector.py: the read
models; queries.py: what the pages read; routes.py, templates/: the pages; svg.py: the charts; admin.py: the
`caja serve owners|rebuild|verify` commands; settings.py: a store's settings (defaults until `config.*`
events carry them). Nothing here is on the ingest path (ingest.py, storage.py).

Not here yet (issue 16, later): an owner's edits (a price or name for one store or several, a store's
settings). Each will be a signed event of the store's HQ device (the server's own key), stored through the same
ingest as a push, pulled by the tills like any other and folded here like any other; a page posts a form (CSRF
checked as every form is) to a resource that builds those events, beside routes.py's Enrol.
"""

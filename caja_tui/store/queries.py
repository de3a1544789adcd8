"""The read side of a store transaction: read-model queries shared by write and read transactions, one module a
family (catalogue.py, sales.py, cash.py, people.py, audit.py,
settings.py), on the base of reads.py.

Mixed into SqliteTx (store/tx.py), which provides `_q` (flushing what the transaction emitted before it reads),
`_conn` and `store`.
"""

from __future__ import annotations

from .audit import AuditQueries
from .cash import CashQueries
from .catalogue import CatalogueQueries
from .people import PeopleQueries
from .sales import SalesQueries
from .settings import SettingsQueries


class Queries(CatalogueQueries, SalesQueries, CashQueries, PeopleQueries, AuditQueries, SettingsQueries):
    """Every query a transaction answers."""

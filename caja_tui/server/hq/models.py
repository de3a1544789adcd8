"""The owner's back office tables (`hq_*`): owners, their sessions and login throttle, and the read models.

They live in the server's database beside the ingest tables (same Peewee `db` proxy, SQLite or PostgreSQL), but
the ingest path never reads or writes them: the read models are folded from the stored events by projector.py,
after the fact, from a cursor per store. `create_tables` runs once before the server's workers start.
"""

from __future__ import annotations

from peewee import BigIntegerField, CharField, CompositeKey, IntegerField, TextField

from ..models import Base


class HqOwner(Base):
    name = CharField(max_length=64, primary_key=True)
    pw_hash = TextField()  # scrypt$n$r$p$salt_hex$key_hex (owners.py)
    stores = TextField()  # "*" (every store) or store ids separated by commas
    created_at = BigIntegerField()
    updated_at = BigIntegerField()

    class Meta:
        table_name = "hq_owner"


class HqSession(Base):
    token_hash = CharField(max_length=64, primary_key=True)  # sha256 of the cookie's value: a stolen db is no login
    owner = CharField(max_length=64, index=True)
    csrf = CharField(max_length=64)
    created_at = BigIntegerField()
    expires_at = BigIntegerField()  # absolute end; each request also needs last_seen within the idle limit
    last_seen = BigIntegerField()

    class Meta:
        table_name = "hq_session"


class HqLoginFailure(Base):
    key = CharField(max_length=160, primary_key=True)  # "name:<owner>" or "ip:<address>"
    failures = IntegerField(default=0)
    first_at = BigIntegerField()
    blocked_until = BigIntegerField(default=0)

    class Meta:
        table_name = "hq_login_failure"


class HqCursor(Base):
    store_id = CharField(max_length=64, primary_key=True)
    server_seq = BigIntegerField(default=0)  # the store's events up to here are in the read models

    class Meta:
        table_name = "hq_cursor"


class HqSalesHour(Base):
    store_id = CharField(max_length=64)
    hour = BigIntegerField()  # epoch hour (UTC): any whole-hour time zone sums them into its own days
    sales = IntegerField(default=0)  # sales made minus sales voided
    amount = BigIntegerField(default=0)  # net of refunds and voids, minor units
    refunds = BigIntegerField(default=0)

    class Meta:
        table_name = "hq_sales_hour"
        primary_key = CompositeKey("store_id", "hour")


class HqProductDay(Base):
    store_id = CharField(max_length=64)
    day = IntegerField()  # epoch day in the server's time zone (projector.local_day)
    product_id = CharField(max_length=64)
    qty = BigIntegerField(default=0)
    amount = BigIntegerField(default=0)

    class Meta:
        table_name = "hq_product_day"
        primary_key = CompositeKey("store_id", "day", "product_id")


class HqMethodDay(Base):
    store_id = CharField(max_length=64)
    day = IntegerField()
    method = CharField(max_length=32)
    payments = IntegerField(default=0)
    amount = BigIntegerField(default=0)

    class Meta:
        table_name = "hq_method_day"
        primary_key = CompositeKey("store_id", "day", "method")


class HqSale(Base):
    """Each sale once (insert-once by sale id); a void arriving before its sale leaves `voided` for it."""

    store_id = CharField(max_length=64)
    sale_id = CharField(max_length=64)
    server_seq = BigIntegerField(null=True)  # its sale.created event, read again when a void reverses it
    voided = IntegerField(default=0)

    class Meta:
        table_name = "hq_sale"
        primary_key = CompositeKey("store_id", "sale_id")


class HqProduct(Base):
    store_id = CharField(max_length=64)
    product_id = CharField(max_length=64)
    name = CharField(max_length=200, default="")
    name_hlc = BigIntegerField(default=0)  # last writer wins on the name
    qty = BigIntegerField(default=0)  # the latest count by hlc + every movement after it
    count_hlc = BigIntegerField(default=-1)
    count_qty = BigIntegerField(default=0)

    class Meta:
        table_name = "hq_product"
        primary_key = CompositeKey("store_id", "product_id")


class HqStockMove(Base):
    """Stock movements after the product's latest count (older ones are dropped when a later count arrives)."""

    store_id = CharField(max_length=64)
    product_id = CharField(max_length=64)
    hlc = BigIntegerField()
    delta = BigIntegerField()

    class Meta:
        table_name = "hq_stock_move"
        indexes = ((("store_id", "product_id", "hlc"), False),)


class HqCatalogue(Base):
    """Each store's products as its tills hold them: sku, name, price and deleted, each field last writer wins by
    its stamp (rights.stamp: hlc, then device); `hlc` is the newest product event's, what an owner's edit takes as
    its `base_hlc` (the version the owner saw)."""

    store_id = CharField(max_length=64)
    product_id = CharField(max_length=64)
    sku = CharField(max_length=64, default="")
    sku_st = CharField(max_length=90, default="")
    name = CharField(max_length=200, default="")
    name_st = CharField(max_length=90, default="")
    price = BigIntegerField(default=0)
    price_st = CharField(max_length=90, default="")
    deleted = IntegerField(default=0)
    deleted_st = CharField(max_length=90, default="")
    hlc = BigIntegerField(default=0)

    class Meta:
        table_name = "hq_catalogue"
        primary_key = CompositeKey("store_id", "product_id")
        indexes = ((("store_id", "sku"), False),)


class HqSetting(Base):
    """A store's settings (`config.updated`), one row a field: its value as JSON, last writer wins by stamp."""

    store_id = CharField(max_length=64)
    field = CharField(max_length=40)
    value = TextField()
    stamp = CharField(max_length=90)
    actor = CharField(max_length=64, default="")

    class Meta:
        table_name = "hq_setting"
        primary_key = CompositeKey("store_id", "field")


class HqShape(Base):
    """The read models' shape this database holds: when the code's differs, they are emptied and folded again."""

    version = IntegerField(primary_key=True)

    class Meta:
        table_name = "hq_shape"


class HqZReport(Base):
    store_id = CharField(max_length=64)
    event_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    session_id = CharField(max_length=64)
    z_number = BigIntegerField()
    closed_at = BigIntegerField()  # ms, from the event's hlc
    counted = BigIntegerField()
    expected = BigIntegerField()
    difference = BigIntegerField()
    net_sales = BigIntegerField()

    class Meta:
        table_name = "hq_z_report"
        primary_key = CompositeKey("store_id", "event_id")
        indexes = ((("store_id", "device_id", "closed_at"), False),)


class HqResolved(Base):
    """The manual conflicts a manager settled (`conflict.resolved`): the rest wait for one (the overview)."""

    store_id = CharField(max_length=64)
    event_id = CharField(max_length=64)

    class Meta:
        table_name = "hq_resolved"
        primary_key = CompositeKey("store_id", "event_id")


ACCESS = (HqOwner, HqSession, HqLoginFailure)
READ_MODELS = (
    HqSalesHour,
    HqProductDay,
    HqMethodDay,
    HqSale,
    HqProduct,
    HqStockMove,
    HqZReport,
    HqResolved,
    HqCatalogue,
    HqSetting,
)
HQ_MODELS = (*ACCESS, HqCursor, HqShape, *READ_MODELS)
# the read models' shape: raised when a release adds or changes a read model, so a server upgraded to it folds
# every store's events again (they start empty, the cursors at 0; pages and the projector catch up)
SHAPE = 2


def create_tables(database) -> None:
    """The hq tables, when missing (once, before the workers start: DDL in a worker could deadlock ingest); read
    models of another shape are dropped first, to be folded again from the events."""
    with database.atomic():
        database.create_tables(HQ_MODELS, safe=True)
        held = [v for (v,) in HqShape.select(HqShape.version).tuples()]
        if held == [SHAPE]:
            return
        database.drop_tables([HqCursor, *READ_MODELS], safe=True)
        database.create_tables([HqCursor, *READ_MODELS], safe=True)
        HqShape.delete().execute()
        HqShape.create(version=SHAPE)


def shadow_models() -> list:
    """Copies of the read models and the cursor under `hqv_*` names, for `caja serve verify` (projector.py)."""
    out = []
    for model in (HqCursor, *READ_MODELS):
        meta = type("Meta", (), {"table_name": "hqv_" + model._meta.table_name[len("hq_") :]})
        out.append(type("Shadow" + model.__name__, (model,), {"Meta": meta}))
    return out

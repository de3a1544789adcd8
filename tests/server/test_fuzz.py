"""Property-based fuzzing of every endpoint over real HTTP: never a 5xx, never an invalid event stored."""

from __future__ import annotations

import gzip
import json
import os
import uuid

import msgspec
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol_client import Device, seal

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "event_id",
    "type",
    "store_id",
    "device_id",
    "seq",
    "hlc",
    "created_at",
    "actor",
    "v",
    "prev_hash",
    "hash",
    "payload",
]
TYPES = [
    "product.created",
    "product.updated",
    "product.deleted",
    "stock.adjusted",
    "stock.counted",
    "sale.created",
    "sale.refunded",
    "cash.moved",
    "user.created",
    "nope.nope",
    "",
]


@st.composite
def mutated_events(draw, store: str):
    """A valid event with some of its fields or payload replaced by arbitrary values, usually re-sealed."""
    d = Device(store, "F1", seq=draw(st.integers(0, 50)))
    e = d.product_created() if draw(st.booleans()) else d.sale_created(str(uuid.uuid4()))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()):
            e[key] = draw(json_values)
        elif key == "type":
            e[key] = draw(st.sampled_from(TYPES))
        elif isinstance(e.get("payload"), dict) and e["payload"]:
            pkey = draw(st.sampled_from(sorted(e["payload"])))
            e["payload"][pkey] = draw(json_values)
    if draw(st.booleans()):
        e.pop(draw(st.sampled_from(FIELDS)), None)
    if draw(st.integers(0, 3)) and isinstance(e.get("prev_hash"), str):
        try:
            seal(e)
        except (ValueError, TypeError):
            pass
    return e


def _post(server, token, body: bytes, ct: str, gz: bool):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": ct}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return requests.post(server.url + "/v1/events", data=body, headers=headers, timeout=30)


FUZZ = settings(
    max_examples=int(os.environ.get("CAJA_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=list(HealthCheck)
)


@FUZZ
@given(data=st.data())
def test_push_never_answers_5xx_and_stores_only_valid_events(server, data):
    store = f"fz-{server.backend}"
    token = _tokens(server, store)
    events = data.draw(st.lists(mutated_events(store), min_size=1, max_size=5))
    fmt = data.draw(st.sampled_from(["json", "msgpack", "garbage"]))
    try:
        if fmt == "json":
            body, ct = json.dumps({"events": events}).encode(), "application/json"
        elif fmt == "msgpack":
            body, ct = msgspec.msgpack.encode({"events": events}), "application/msgpack"
        else:
            body, ct = (
                data.draw(st.binary(max_size=200)),
                data.draw(st.sampled_from(["application/json", "application/msgpack", "text/plain", ""])),
            )
    except (OverflowError, msgspec.EncodeError):  # an int too large for msgpack: not sendable
        return
    r = _post(server, token, body, ct, data.draw(st.booleans()))
    assert r.status_code < 500, r.text
    assert r.status_code in (200, 400, 403), r.status_code


@FUZZ
@given(raw=json_values)
def test_any_json_body_is_answered_below_500(server, raw):
    token = _tokens(server, f"fz-{server.backend}")
    r = _post(server, token, json.dumps(raw).encode(), "application/json", False)
    assert r.status_code in (200, 400, 403), (r.status_code, r.text)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["after", "limit", "include_own", "x"]),
        st.text(max_size=12) | st.integers(-5, 10**20).map(str),
        max_size=4,
    ),
    path=st.sampled_from(
        ["/v1/events", "/v1/devices/me", "/v1/health", "/metrics", "/v1/openapi.json", "/v1/nope", "/v1/events/../x"]
    ),
    auth=st.sampled_from(["good", "none", "garbage"]),
)
def test_every_get_endpoint_is_answered_below_500(server, params, path, auth):
    token = _tokens(server, f"fz-{server.backend}")
    headers = {
        "good": {"Authorization": f"Bearer {token}"},
        "none": {},
        "garbage": {"Authorization": "Bearer \u00e9\u00e9"},
    }[auth]
    r = requests.get(server.url + path, params=params, headers=headers, timeout=30)
    assert r.status_code < 500, (path, params, r.status_code, r.text)


def test_after_the_fuzzing_every_stored_event_is_valid(server):
    # runs last in this module (pytest keeps file order): the server's own audit over everything stored
    v = server.caja("verify")
    assert v.returncode == 0, v.stdout


_TOKENS: dict[tuple[str, str], str] = {}


def _tokens(server, store: str) -> str:
    key = (server.url, store)
    if key not in _TOKENS:
        _TOKENS[key] = server.enroll(store, "F1")
    return _TOKENS[key]

"""The OpenAPI document, generated from the wire Structs of caja_tui.protocol (one definition of every shape)."""

from __future__ import annotations

from typing import Any

import msgspec

from .. import __version__
from ..protocol import (
    DeviceMe,
    DevicesResponse,
    ErrorBody,
    Health,
    KeyRequest,
    KeyResponse,
    PullResponse,
    PushRequest,
    PushResponse,
)

Schema = dict[str, Any]

AUTH = [{"bearer": []}]
ERROR_TEXT = {
    400: "undecodable body or wrong shape",
    401: "missing or unknown token",
    403: "events of another store, or unsigned events of another device",
    409: "this device already has another key (re-enrol it with --rekey)",
    413: "body too large",
    429: "rate limited (Retry-After)",
    503: "storage unavailable; retry",
}


def build() -> Schema:
    (push_req, push_res, pull_res, health, me, key_req, key_res, devs, err), components = (
        msgspec.json.schema_components(
            [
                PushRequest,
                PushResponse,
                PullResponse,
                Health,
                DeviceMe,
                KeyRequest,
                KeyResponse,
                DevicesResponse,
                ErrorBody,
            ],
            ref_template="#/components/schemas/{name}",
        )
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Caja sync protocol",
            "version": f"2 (server {__version__})",
            "description": "See PROTOCOL.md. Bodies are JSON or msgpack; gzip both ways.",
        },
        "servers": [{"url": "/"}],
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/v1/health": {"get": _health(health)},
            "/v1/events": {"post": _push(push_req, push_res, err), "get": _pull(pull_res, err)},
            "/v1/devices/me": {"get": _devices_me(me, err)},
            "/v1/devices/me/key": {"put": _key(key_req, key_res, err)},
            "/v1/devices": {"get": _devices(devs, err)},
            "/metrics": {"get": _metrics()},
        },
    }


def _body(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}, "application/msgpack": {"schema": schema}}


def _answers(description: str, schema: Schema, err: Schema, *codes: int) -> Schema:
    """The responses of an operation: its 200 and the errors it can answer."""
    errors = {str(c): {"description": ERROR_TEXT[c], "content": _body(err)} for c in codes}
    return {"200": {"description": description, "content": _body(schema)}, **errors}


def _query(name: str, **schema: Any) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _health(health: Schema) -> Schema:
    return {"operationId": "health", "responses": _answers("the server is up", health, {})}


def _push(push_req: Schema, push_res: Schema, err: Schema) -> Schema:
    return {
        "operationId": "push",
        "security": AUTH,
        "requestBody": {"required": True, "content": _body(push_req)},
        "responses": _answers("one result per event, in order", push_res, err, 400, 401, 403, 413, 429, 503),
    }


def _pull(pull_res: Schema, err: Schema) -> Schema:
    return {
        "operationId": "pull",
        "security": AUTH,
        "parameters": [
            _query("after", type="integer", minimum=0, default=0),
            _query("limit", type="integer", minimum=1, maximum=1000, default=500),
            _query("include_own", type="integer", enum=[0, 1], default=0),
        ],
        "responses": _answers("the store's events after the cursor", pull_res, err, 400, 401, 429, 503),
    }


def _devices_me(me: Schema, err: Schema) -> Schema:
    return {
        "operationId": "devicesMe",
        "security": AUTH,
        "responses": _answers("what the server holds of this device", me, err, 401, 429, 503),
    }


def _key(key_req: Schema, key_res: Schema, err: Schema) -> Schema:
    return {
        "operationId": "registerKey",
        "security": AUTH,
        "requestBody": {"required": True, "content": _body(key_req)},
        "responses": _answers("the device's registered key (the same again: 200)", key_res, err, 400, 401, 409, 429),
    }


def _devices(devs: Schema, err: Schema) -> Schema:
    return {
        "operationId": "devices",
        "security": AUTH,
        "responses": _answers("the store's devices and their keys", devs, err, 401, 429, 503),
    }


def _metrics() -> Schema:
    text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "operationId": "metrics",
        "description": "the metrics token (`caja serve enroll --metrics`), or none from a client on the server's "
        "own machine that no proxy forwards",
        "security": [{"bearer": []}, {}],
        "responses": {
            "200": {"description": "Prometheus text", "content": text},
            "401": {"description": "no metrics token from off the machine, or an unknown one"},
            "403": {"description": "a device's token"},
        },
    }

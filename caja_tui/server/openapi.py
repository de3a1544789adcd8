"""The OpenAPI document, generated from the wire Structs of caja_tui.protocol (one definition of every shape)."""

from __future__ import annotations

from typing import Any

import msgspec

from .. import __version__
from ..protocol import DeviceMe, ErrorBody, Health, PullResponse, PushRequest, PushResponse


def build() -> dict[str, Any]:
    (push_req, push_res, pull_res, health, me, err), components = msgspec.json.schema_components(
        [PushRequest, PushResponse, PullResponse, Health, DeviceMe, ErrorBody],
        ref_template="#/components/schemas/{name}",
    )

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"application/json": {"schema": schema}, "application/msgpack": {"schema": schema}}

    def errors(*codes: int) -> dict[str, Any]:
        text = {
            400: "undecodable body or wrong shape",
            401: "missing or unknown token",
            403: "events of another store or device",
            413: "body too large",
            429: "rate limited (Retry-After)",
            503: "storage unavailable; retry",
        }
        return {str(c): {"description": text[c], "content": body(err)} for c in codes}

    auth = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Caja sync protocol",
            "version": f"1 (server {__version__})",
            "description": "See PROTOCOL.md. Bodies are JSON or msgpack; gzip both ways.",
        },
        "servers": [{"url": "/"}],
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/v1/health": {
                "get": {
                    "operationId": "health",
                    "responses": {"200": {"description": "the server is up", "content": body(health)}},
                }
            },
            "/v1/events": {
                "post": {
                    "operationId": "push",
                    "security": auth,
                    "requestBody": {"required": True, "content": body(push_req)},
                    "responses": {
                        "200": {"description": "one result per event, in order", "content": body(push_res)},
                        **errors(400, 401, 403, 413, 429, 503),
                    },
                },
                "get": {
                    "operationId": "pull",
                    "security": auth,
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 0, "default": 0},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 500},
                        },
                        {
                            "name": "include_own",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [0, 1], "default": 0},
                        },
                    ],
                    "responses": {
                        "200": {"description": "the store's events after the cursor", "content": body(pull_res)},
                        **errors(400, 401, 429, 503),
                    },
                },
            },
            "/v1/devices/me": {
                "get": {
                    "operationId": "devicesMe",
                    "security": auth,
                    "responses": {
                        "200": {"description": "what the server holds of this device", "content": body(me)},
                        **errors(401, 429, 503),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
    }

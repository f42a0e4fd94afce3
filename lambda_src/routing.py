"""Which function answers a request, and how what it raises becomes the answer.

The order of the checks is the API's contract: 404 before 405 before 400 before 503, that is route
existence first, then the method, then the request itself, then the dependencies. A route function
gets the event and ``info`` (the deployment's identity, the request id and, on templated routes,
the path parameters) and returns a proxy response or raises one of ``web``'s errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import settings
import web

RouteFunction = Callable[[Mapping[str, Any], dict[str, Any]], web.Response]
RouteTable = Mapping[str, Mapping[str, RouteFunction]]  # route or template -> method -> function


def route_of(event: Mapping[str, Any]) -> str | None:
    """Return the normalised route ("/api", "/api/health", ...) or None if not under /api.

    The matched ``resource`` plus the ``proxy`` path parameter is authoritative; the raw
    ``path`` is the fallback and may carry a stage or base-path prefix ("/prod/api/...").
    Empty segments are dropped, so trailing or doubled slashes are tolerated.
    """
    resource, path = event.get("resource"), event.get("path")
    proxy = web.as_dict(event.get("pathParameters")).get("proxy")
    if resource == "/api":
        rest: list[str] | None = []
    elif resource == "/api/{proxy+}" and isinstance(proxy, str):
        rest = [s for s in proxy.split("/") if s]
    elif isinstance(path, str):
        segments = [s for s in path.split("/") if s]
        if segments[:1] == ["api"]:
            rest = segments[1:]
        elif segments[1:2] == ["api"]:
            rest = segments[2:]
        else:
            rest = None
    else:
        rest = None
    return None if rest is None else "/".join(["", "api", *rest])


def match(routes: RouteTable, route: str) -> tuple[str, dict[str, str]] | None:
    """The table's key for a route and its path parameters; exact routes win over templates."""
    if route in routes:
        return route, {}
    segments = route.split("/")
    for template in routes:
        parts = template.split("/")
        if len(parts) == len(segments) and all(
            p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(parts, segments, strict=True)
        ):
            return template, {p[1:-1]: s for p, s in zip(parts, segments, strict=True) if p.startswith("{")}
    return None


def dispatch(routes: RouteTable, event: Mapping[str, Any], method: str, request_id: str | None) -> web.Response:
    """Answer one request from the table; only a bug in a route function raises."""
    route = route_of(event)
    matched = match(routes, route) if route is not None else None
    if matched is None:
        return web.error(404, "not_found", "No such route", request_id)
    methods = routes[matched[0]]
    if method == "OPTIONS":
        return web.response(204, None, {"Access-Control-Max-Age": "600"})
    if method not in methods:
        allow = ", ".join([*methods, "OPTIONS"])
        return web.error(
            405, "method_not_allowed", f"Method not allowed on {route}; allowed: {allow}", request_id, {"Allow": allow}
        )
    info: dict[str, Any] = {**settings.identity(), "request_id": request_id}
    if matched[1]:  # only templated routes; the greeting and health answers show ``info`` as it is
        info["params"] = matched[1]
    try:
        return methods[method](event, info)
    except web.PayloadTooLarge as exc:
        return web.error(413, "payload_too_large", str(exc), request_id)
    except web.BadRequest as exc:
        return web.error(400, "bad_request", str(exc), request_id)
    except web.ApiError as exc:
        return web.error(exc.status, exc.code, exc.message, request_id, exc.headers)

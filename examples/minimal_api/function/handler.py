"""The minimal example's function: answers every request routed to it with a small JSON document.

API Gateway's Lambda proxy integration (payload 1.0) hands it the request; what it returns is the
HTTP answer. Standard library only, so the directory is zipped as it is.
"""

from __future__ import annotations

import json
import os
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    path = event.get("path") or "/api"
    status = 200 if path in ("/api", "/api/health") else 404
    body = {"message": "hello" if status == 200 else "not found", "path": path, "region": os.environ.get("REGION")}
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            # The origin the API's CORS preflights allow (the stack sets it from the API's Cors).
            "Access-Control-Allow-Origin": os.environ.get("CORS_ALLOW_ORIGIN", "*"),
        },
        "body": json.dumps(body, sort_keys=True),
    }

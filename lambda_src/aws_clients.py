"""boto3 clients for the items store and the event bus, shared by both and kept for the process.

boto3 is imported on the first call, not at import time: only items traffic pays for loading it, so
cold starts of the other routes (and of the worker) never do.
"""

from __future__ import annotations

import os
from typing import Any

_CLIENTS: dict[tuple[str, str, str], Any] = {}


def client(service: str) -> Any:
    """A boto3 client, made on first use and kept for the process (warm invocations reuse it).

    The endpoint (``AWS_ENDPOINT_URL``, e.g. a local moto server) and region are read from the
    environment by botocore, so they are part of the cache key. A private session, not boto3's
    global one.
    """
    key = (
        service,
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
        os.environ.get("AWS_ENDPOINT_URL") or "",
    )
    made = _CLIENTS.get(key)
    if made is None:
        import boto3
        from botocore.config import Config

        # Standard retries: 3 attempts with backoff (AWS_MAX_ATTEMPTS changes that), short timeouts so
        # a dead endpoint costs seconds, not the function's whole timeout.
        config = Config(retries={"mode": "standard"}, connect_timeout=2, read_timeout=5)
        made = boto3.session.Session().client(service, config=config)
        _CLIENTS[key] = made
    return made

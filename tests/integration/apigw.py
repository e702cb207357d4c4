"""Two ways to drive the API with the same calls: Lambda handlers fed API Gateway HTTP API
payload 2.0 events, and real HTTP against the local server."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from tickerwatch.events import LocalContext, http_api_event
from tickerwatch.local import function_names, load_function


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    def fields(self) -> dict[str, list[str]]:
        """An error body's field messages (Django REST framework's shape: beside "detail")."""
        return {k: v for k, v in self.json().items() if k != "detail"}


@dataclass
class LambdaApi:
    """Routes each request to the function whose app declares it, like API Gateway does."""

    modules: dict[str, ModuleType] = field(default_factory=dict)
    kind: str = "lambda"

    def __post_init__(self) -> None:
        if not self.modules:
            for name in function_names():
                module = load_function(name)
                if hasattr(module, "app"):
                    self.modules[name] = module

    def function_for(self, method: str, path: str) -> tuple[ModuleType, str, dict[str, str]]:
        """API Gateway's routing: a route key is a method and a path whose {parameters} match any
        segment (it knows no types like {alert_id:int}; the function's app checks those)."""
        candidates = [(m, r) for m in self.modules.values() for r in m.app.router.routes]
        candidates.sort(key=lambda mr: "{" in mr[1].path)  # like API Gateway: literal paths win
        for module, route in candidates:
            template = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            found = re.match(pattern, path)
            if found and method in route.methods:
                return module, f"{method} {template}", found.groupdict()
        raise LookupError(f"no function serves {method} {path} (API Gateway would answer 404)")

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        module, route_key, path_params = self.function_for(method, path)
        body = content if content is not None else (json.dumps(json_body).encode() if json_body is not None else None)
        event = http_api_event(
            method,
            path,
            route_key=route_key,
            body=body,
            headers=headers,
            params=params,
            path_parameters={k: str(v) for k, v in path_params.items()} or None,
        )
        result = module.handler(event, LocalContext(module.__name__))
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        return Reply(result["statusCode"], {k.lower(): v for k, v in result.get("headers", {}).items()}, payload)


@dataclass
class HttpApi:
    base_url: str
    kind: str = "http"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        hdrs = dict(headers or {})
        if content is not None:
            hdrs.setdefault("content-type", "application/json")
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            response = client.request(method, path, json=json_body, content=content, headers=hdrs, params=params)
        return Reply(response.status_code, dict(response.headers), response.content)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    """`tickerwatch serve` in a subprocess, on the test database."""

    def __init__(self, *extra_args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ["TICKERWATCH_DATA_DIR"]) / f"serve-{self.port}.log"
        cmd = [
            sys.executable,
            "-m",
            "tickerwatch.cli",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *extra_args,
        ]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            cmd, env={**os.environ, **(env or {})}, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60) -> LocalServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/api/v1/health/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"server not ready: {self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log_file.close()

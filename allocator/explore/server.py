"""The explorer's local web server: a small Starlette app served by uvicorn on the loopback
address only.

Every request must carry the session's token: in the page's address (``/?token=...``, which
also sets a cookie for the page's own requests), in the ``X-Explore-Token`` header or in that
cookie. A request whose ``Host`` header is not ``127.0.0.1:PORT`` or ``localhost:PORT``, or whose
``Origin`` header names another site, is refused (a web page elsewhere cannot reach the server,
not even through a DNS name that points at 127.0.0.1). The page names no files: the API takes
settings, a unit and a language, and saving writes to the output folder the command was given.

>>> address(8765, "t0ken")
'http://127.0.0.1:8765/?token=t0ken'
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request, cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allocator.errors import AllocatorError, InputError
from allocator.explore.session import Explorer

HOST = "127.0.0.1"
STATIC = Path(__file__).parent / "static"
TOKEN_HEADER = "x-explore-token"
MAX_BODY = 1_000_000  # bytes of one request's JSON
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self' "
                                 b"'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
log = logging.getLogger("allocator.explore")


def cookie_name(port: int) -> str:
    """The token cookie of the server on ``port`` (cookies do not tell ports apart)."""
    return f"allocator_explore_{port}"


class Guard:
    """ASGI middleware: refuses (403) a request without the token, with a foreign ``Host`` or
    ``Origin`` header, or that is not plain HTTP; adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, *, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(port)
        self.hosts = {f"{HOST}:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    def refusal(self, scope: Scope) -> str | None:
        """Why a request is refused, or None."""
        headers = Headers(scope=scope)
        if headers.get("host") not in self.hosts:
            return "refused: this server answers only to its own address (Host header)"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "refused: requests from other sites are not allowed (Origin header)"
        given = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("token") \
            or headers.get(TOKEN_HEADER) or _cookie(headers, self.cookie)
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            return "refused: open the address that 'allocator explore' printed (with its token)"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets
            await send({"type": "websocket.close", "code": 1008})
            return
        refusal = self.refusal(scope)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                   *SECURITY_HEADERS]}
            await send(message)

        if refusal is not None:
            await JSONResponse({"error": refusal}, status_code=403)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)


def _cookie(headers: Headers, name: str) -> str | None:
    return cookie_parser(headers.get("cookie", "")).get(name)


async def _json(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InputError("request: send JSON (Content-Type: application/json)")
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise InputError(f"request: larger than {MAX_BODY:,} bytes")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InputError(f"request: larger than {MAX_BODY:,} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise InputError("request: not valid JSON") from None


def _endpoint(work: Callable[[Any], dict]) -> Callable[[Request], Any]:
    """A POST endpoint: the request's JSON to ``work`` (in a worker thread), its answer back as
    JSON; a library error is a 422 answer with the library's message."""
    async def endpoint(request: Request) -> Response:
        try:
            payload = await _json(request)
            return JSONResponse(await run_in_threadpool(work, payload))
        except AllocatorError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        except Exception:
            log.exception("the explorer failed on %s", request.url.path)
            return JSONResponse({"error": "internal error: see the terminal that runs "
                                          "'allocator explore'"}, status_code=500)

    return endpoint


def create_app(explorer: Explorer, *, port: int, token: str) -> ASGIApp:
    """The app of one explorer session on ``port``, guarded by ``token``."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        response = HTMLResponse(page)
        response.set_cookie(cookie_name(port), token, httponly=True, samesite="strict", path="/")
        return response

    async def start(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(explorer.start))

    routes = [Route("/", index), Route("/api/start", start),
              Route("/api/step", _endpoint(explorer.step), methods=["POST"]),
              Route("/api/explain", _endpoint(explorer.explain), methods=["POST"]),
              Route("/api/bands", _endpoint(explorer.bands), methods=["POST"]),
              Route("/api/save", _endpoint(explorer.save), methods=["POST"]),
              Mount("/static", StaticFiles(directory=STATIC))]
    return Guard(Starlette(routes=routes), token=token, port=port)


def listen(port: int = 0) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` (0: a free port); :class:`InputError` when the
    port cannot be had."""
    if not 0 <= port <= 65535:
        raise InputError(f"port {port}: use a number from 1 to 65535 (or 0 for a free port)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise InputError(f"port {port}: cannot listen on {HOST}:{port} "
                         f"({exc.strerror or exc})") from None
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, stopped cleanly by Ctrl-C, SIGTERM and a closed terminal (SIGHUP)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
        signals = [getattr(signal, n) for n in names if hasattr(signal, n)]
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _server(app: ASGIApp) -> _Server:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            server_header=False, timeout_graceful_shutdown=3)
    return _Server(config)


def address(port: int, token: str) -> str:
    """The page's address: ``http://127.0.0.1:PORT/?token=...``."""
    return f"http://{HOST}:{port}/?token={token}"


def serve(explorer: Explorer, *, port: int = 0, ready: Callable[[str], None] | None = None
          ) -> None:
    """Serve ``explorer`` on 127.0.0.1:``port`` (0: a free port) until Ctrl-C, SIGTERM or the
    terminal closes; ``ready(address)`` is called once the server listens."""
    sock = listen(port)
    actual = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    server = _server(create_app(explorer, port=actual, token=token))
    try:
        if ready is not None:
            ready(address(actual, token))
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextlib.contextmanager
def running(explorer: Explorer, *, port: int = 0, timeout: float = 20.0
            ) -> Iterator[tuple[str, str]]:
    """The server in a thread of this process, for tests and benchmarks: yields ``(address,
    token)`` once it answers, and stops it on leaving."""
    sock = listen(port)
    actual = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    server = _server(create_app(explorer, port=actual, token=token))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"explore-{actual}")
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the explorer's server did not start")
            time.sleep(0.02)
        yield address(actual, token), token
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        if thread.is_alive():
            log.warning("the explorer's server on port %s did not stop", actual)

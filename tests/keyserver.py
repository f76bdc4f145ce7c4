"""A local HTTPS server standing in for the hosts keys are fetched from (AWS SNS, Google).

Its certificate, issued by a CA made in the test run, names the real provider hosts; the
fetcher under test gets ``pins`` mapping those names to this loopback server and an
``ssl_context`` trusting that CA, so TLS is verified exactly as in production.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .servers import free_port
from .tlscerts import CA

SNS_HOST = "sns.us-east-1.amazonaws.com"
SNS_CN_HOST = "sns.cn-north-1.amazonaws.com.cn"
GOOGLE_HOST = "www.googleapis.com"
HOSTS = (SNS_HOST, SNS_CN_HOST, GOOGLE_HOST)
SNS_CERT_PATH = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"


@dataclass
class KeyServer:
    port: int
    ca: CA
    #: path (with query) -> (status, headers, body); anything else is a 404.
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    #: request paths served, in order.
    requests: list[str] = field(default_factory=list)

    def pins(self) -> dict[str, tuple[str, int]]:
        return {host: ("127.0.0.1", self.port) for host in HOSTS}

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca.path))

    def serve(self, path: str, body: bytes | str, status: int = 200, **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = (status, headers, data)


@contextlib.contextmanager
def key_server(directory: Path, *, names: tuple[str, ...] = HOSTS) -> Iterator[KeyServer]:
    ca = CA(directory, name="key-server-ca")
    issued = ca.issue(
        "keyserver", common_name=names[0], dns=names, ips=("127.0.0.1",), client=False
    )
    server = KeyServer(free_port(), ca)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(self.path)
            status, headers, body = server.routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", server.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()

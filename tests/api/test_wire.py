"""The API layer's own transport (`http.client`): TLS verified against a CA bundle named in the
environment, as `requests` honours it, and the token sent only to the API host. A local TLS
server with a self-signed certificate stands in for a GitHub Enterprise Server with a private CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from wait_and_dispatch.github_api import GitHubApi, RetryPolicy
from wait_and_dispatch.support.clock import ManualClock
from wait_and_dispatch.support.errors import ConnectionFailedError


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[dict[str, Any]]]]:
    cert_path, key_path = self_signed(tmp_path)
    seen: list[dict[str, Any]] = []

    @Request.application
    def app(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response(json.dumps({"full_name": "octo/app"}), 200, content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=(str(cert_path), str(key_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}", cert_path, seen
    finally:
        server.shutdown()


def test_https_is_verified_against_the_ca_bundle_in_the_environment(
    tls_server: tuple[str, Path, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert_path, seen = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_path))
    with GitHubApi(base_url=url, token="ghs_tls_secret", clock=ManualClock()) as api:
        assert api.get("/repos/octo/app").data == {"full_name": "octo/app"}
        assert api.get("/repos/octo/app").status == 200  # the kept-alive connection, or a new one
    assert seen[0]["Authorization"] == "token ghs_tls_secret"


def test_an_untrusted_certificate_is_refused_without_sending_the_token(
    tls_server: tuple[str, Path, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, seen = tls_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with (
        GitHubApi(
            base_url=url, token="ghs_tls_secret", clock=ManualClock(), policy=RetryPolicy(attempts=2)
        ) as api,
        pytest.raises(ConnectionFailedError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        api.get("/repos/octo/app")
    assert seen == []


@pytest.fixture
def http_proxy() -> Iterator[tuple[str, list[str]]]:
    """A forwarding proxy for plain HTTP: it takes absolute URLs, as proxies do, and notes them."""
    import http.client
    import http.server
    import urllib.parse

    forwarded: list[str] = []

    class Forward(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            forwarded.append(self.path)
            target = urllib.parse.urlsplit(self.path)
            upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")
            }
            upstream.request(
                "GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers
            )
            answer = upstream.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            upstream.close()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", forwarded
    finally:
        server.shutdown()


def test_requests_go_through_the_proxy_named_in_the_environment(
    http_proxy: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import BASE_SCENARIO
    from wait_and_dispatch.emulator import Emulator, Scenario

    proxy, forwarded = http_proxy
    clock = ManualClock()
    with Emulator(Scenario.from_dict(BASE_SCENARIO), clock=clock) as emulator:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with GitHubApi(base_url=emulator.api_url, token=emulator.token("dev"), clock=clock) as api:
            assert api.get("/repos/octo/app").data["full_name"] == "octo/app"
        assert forwarded == [f"{emulator.api_url}/repos/octo/app"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with GitHubApi(base_url=emulator.api_url, token=emulator.token("dev"), clock=clock) as api:
            api.get("/repos/octo/public")
        assert len(forwarded) == 1, "NO_PROXY is honoured"

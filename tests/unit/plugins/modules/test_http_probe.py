# Copyright: sidecarless.mesh contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""http_probe against a local HTTP server that answers like whoami behind Dapr."""

from __future__ import annotations

import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.sidecarless.mesh.plugins.modules import http_probe
from module_runner import run_module


def whoami_server(versions, dapr=True, status=200):
    cycle = itertools.cycle(versions)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            with lock:
                version = next(cycle)
            lines = ["Name: %s" % version, "GET %s HTTP/1.1" % self.path, "Host: %s" % self.headers.get("Host")]
            if dapr:
                lines += ["Dapr-Callee-App-Id: whoami", "Dapr-Caller-App-Id: ingress"]
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def serve():
    servers = []

    def start(*args, **kwargs):
        server = whoami_server(*args, **kwargs)
        servers.append(server)
        return "http://127.0.0.1:%d/" % server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()


MARKERS = ["Dapr-Caller-App-Id: ingress", "Dapr-Callee-App-Id: whoami"]


def test_an_even_split_through_dapr_passes(serve):
    url = serve(["v1", "v2"])
    result = run_module(http_probe.main, dict(url=url, count=40, expected_shares={"v1": 0.5, "v2": 0.5},
                                              expect_in_body=MARKERS, host="shop.example.com"))
    assert result.get("failed") is not True, result
    assert result["versions"] == {"v1": 20, "v2": 20} and result["statuses"] == {"200": 40}
    assert result["markers"] == {MARKERS[0]: 40, MARKERS[1]: 40}


def test_a_skewed_split_fails_with_the_numbers(serve):
    url = serve(["v1", "v1", "v1", "v2"])
    result = run_module(http_probe.main, dict(url=url, count=40, expected_shares={"v1": 0.5, "v2": 0.5}))
    assert result["failed"] is True
    assert "version v1 got 75% of the answers, expected 50% +/- 15%" in result["msg"]


def test_answers_that_bypassed_dapr_fail(serve):
    url = serve(["v1"], dapr=False)
    result = run_module(http_probe.main, dict(url=url, count=10, expect_in_body=MARKERS))
    assert result["failed"] is True and "only 0 of 10 answers contain 'Dapr-Caller-App-Id: ingress'" in result["msg"]


def test_errors_and_unreachable_gateways_fail(serve):
    url = serve(["v1"], status=503)
    result = run_module(http_probe.main, dict(url=url, count=5))
    assert result["failed"] is True and "only 0 of 5 requests succeeded (statuses {'503': 5})" in result["msg"]
    result = run_module(http_probe.main, dict(url="http://127.0.0.1:9/", count=2, timeout=1))
    assert result["failed"] is True and result["statuses"] == {"0": 2}


def test_check_mode_sends_nothing():
    result = run_module(http_probe.main, dict(url="http://127.0.0.1:9/"), check_mode=True)
    assert result["skipped"] is True and result.get("failed") is not True

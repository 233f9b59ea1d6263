"""A local stand-in for Eurostat's dissemination API, serving recorded answers (tests, demos).

``tests/data/eurostat_api/`` holds, per dataset, the data structure as Eurostat writes it
(``<dataset>.dsd.xml``) and the gzipped TSV of Kosovo's slice (``<dataset>.tsv.gz``). A mapped dataset
with no recording gets a data structure made from its mapping entries and Eurostat's
"No Results Found" answer for the data, so datasets added to ``eurostat_map.toml`` later still fetch.

Behaviours for failure tests are set on ``server.behaviour`` (see ``Behaviour``); every request is
kept in ``server.requests`` as (path, query dict).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from indicators import eurostat

RECORDED = Path(__file__).with_name("data") / "eurostat_api"
_M = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
_S = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"


@dataclass
class Behaviour:
    """How the server misbehaves: for data requests of ``dataset`` (None: every dataset)."""

    dataset: str | None = None
    status: int = 0  # answer with this status and ``body``
    body: bytes = b""
    sleep: float = 0.0  # wait before answering
    cut: bool = False  # announce more bytes than are sent, then close
    fail_first: int = 0  # answer 503 to the first n data requests, then normally
    failed: int = field(default=0, init=False)


def _generated_dsd(dataset: str) -> bytes:
    entries = eurostat.load_mapping()[dataset]
    dims = ["freq"] + sorted({d for e in entries for d in (*e.required(), *(k for k, _ in e.if_present))}
                             - {"freq", "geo"}) + ["geo"]
    items = "".join(f'<s:Dimension id="{d}" position="{i}"/>' for i, d in enumerate(dims, 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><m:Structure xmlns:m="{_M}" xmlns:s="{_S}"><m:Structures>'
            f'<s:DataStructures><s:DataStructure id="{dataset.upper()}" agencyID="ESTAT" version="1.0">'
            f'<s:DataStructureComponents><s:DimensionList id="DimensionDescriptor">{items}'
            f'<s:TimeDimension id="TIME_PERIOD" position="{len(dims) + 1}"/></s:DimensionList>'
            "</s:DataStructureComponents></s:DataStructure></s:DataStructures></m:Structures></m:Structure>"
            ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: EurostatServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append((url.path, query))
        parts = url.path.strip("/").split("/")
        try:
            at = parts.index("sdmx")
        except ValueError:
            return self._send(404, b"not found", "text/plain")
        rest = parts[at + 2:]  # after sdmx/2.1
        if len(rest) >= 3 and rest[0] == "datastructure":
            return self._structure(rest[2].lower())
        if len(rest) >= 2 and rest[0] == "data":
            return self._data(rest[1].lower())
        return self._send(404, (RECORDED / "error_no_results.xml").read_bytes(), "application/xml")

    def _structure(self, dataset: str) -> None:
        path = RECORDED / f"{dataset}.dsd.xml"
        if path.exists():
            return self._send(200, path.read_bytes(), "application/xml")
        if dataset in eurostat.load_mapping():
            return self._send(200, _generated_dsd(dataset), "application/xml")
        return self._send(404, (RECORDED / "error_no_results.xml").read_bytes(), "application/xml")

    def _data(self, dataset: str) -> None:
        b = self.server.behaviour
        if b.dataset in (None, dataset):
            if b.sleep:
                time.sleep(b.sleep)
            if b.failed < b.fail_first:
                b.failed += 1
                return self._send(503, (RECORDED / "error_server.xml").read_bytes(), "application/xml")
            if b.status:
                return self._send(b.status, b.body, "application/xml")
        path = RECORDED / f"{dataset}.tsv.gz"
        if not path.exists():
            return self._send(404, (RECORDED / "error_no_results.xml").read_bytes(), "application/xml")
        body = path.read_bytes()
        if b.dataset in (None, dataset) and b.cut:
            self._send(200, body[: len(body) // 2], "application/octet-stream", length=len(body))
            self.close_connection = True
            return
        self._send(200, body, "application/octet-stream")


class EurostatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.requests: list[tuple[str, dict]] = []
        self.behaviour = Behaviour()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/eurostat/api/dissemination"

    def data_requests(self) -> list[tuple[str, dict]]:
        return [(p, q) for p, q in self.requests if "/sdmx/2.1/data/" in p]

    def start(self) -> EurostatServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


if __name__ == "__main__":  # a server for demonstrations: python -m tests.eurostat_server [PORT]
    import sys

    server = EurostatServer(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
    print(server.url, flush=True)
    server.serve_forever()

#!/usr/bin/env python3
"""A current ClickHouse engine behind the part of ClickHouse's HTTP interface
that glasshouse uses, for running the ClickHouse suites against a current
release where only Debian's 18.16 server can be installed.

The engine is chDB (`pip install chdb-core`): ClickHouse itself, in-process.
This file only carries requests to it: `GET /ping`; `POST /` with the
statement as the body, or as the `query` parameter with the insert's data as
the body; `database` and settings (`join_use_nulls`, ...) as parameters.
Answers are ClickHouse's own output, or its error with status 500.

    scripts/clickhouse-current.py PORT DATA_DIR

Listens on 127.0.0.1 only. Statements run one at a time.
"""

import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chdb import session

# Parameters that are not settings.
NOT_SETTINGS = {"query", "database", "user", "password"}
# Settings of a cluster, meaningless on one server.
CLUSTER_ONLY = {"insert_distributed_sync", "load_balancing", "distributed_product_mode"}


class Engine:
    def __init__(self, path):
        self.session = session.Session(path)
        self.lock = threading.Lock()

    def run(self, statement, params):
        with self.lock:
            for key, value in params.items():
                if key in NOT_SETTINGS or key in CLUSTER_ONLY:
                    continue
                if not key.replace("_", "").isalnum() or not value.replace("_", "").isalnum():
                    raise ValueError(f"bad setting {key!r}")
                self.session.query(f"SET {key} = {value}")
            database = params.get("database")
            self.session.query(f"USE {database}" if database else "USE default")
            result = self.session.query(statement, "TabSeparated")
            return result.bytes() if result is not None else b""


class Handler(BaseHTTPRequestHandler):
    engine = None

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/ping"):
            self.answer(200, b"Ok.\n")
        else:
            self.answer(404, b"not here\n")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        statement = params["query"] + "\n" + body if "query" in params else body
        try:
            out = self.engine.run(statement, params)
        except Exception as e:  # the engine's error, as ClickHouse reports it
            self.answer(500, f"Code: 0. DB::Exception: {e}\n".encode())
            return
        self.answer(200, out)


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    Handler.engine = Engine(path)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"ClickHouse {Handler.engine.run('SELECT version()', {}).decode().strip()} (chDB) on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

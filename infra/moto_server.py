"""moto in server mode, with DynamoDB requests served one at a time.

moto 5.2's DynamoDB backend has no isolation between concurrent requests: a cancelled
TransactWriteItems restores a copy of the whole table taken when it started (undoing
writes other requests committed meanwhile), and conditional updates are not atomic across
server threads. Real DynamoDB is linearizable per item, and the conformance suite's race
tests (20 concurrent war-room enables, 100 concurrent token takers) rely on that. Serialising
DynamoDB calls restores it; SQS stays concurrent so long polls do not block everything.

Usage: python infra/moto_server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
dynamodb_lock = threading.Lock()


def serialized(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb_lock:
            # Drain the response inside the lock: the backend work happens while it is built.
            return list(app(environ, start_response))
    return app(environ, start_response)


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serialized, threaded=True)

"""The floor of ``bench_serving.py``: a WSGI app that reads the body and
answers a fixed ``.npz`` of 64 predictions, nothing else. Served by a
gunicorn worker, its rate is the most any app reaches under that worker."""

import numpy as np

from anomed_anonymizer.wire import encode_named_arrays

ANSWER = encode_named_arrays({"prediction": np.zeros(64, dtype=np.int64)})


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    status = "201 Created" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
    start_response(
        status,
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(ANSWER))),
        ],
    )
    return [ANSWER]

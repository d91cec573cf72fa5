"""How a request is served: gunicorn's workers on uvicorn's event loop, a
bridge that reads each request completely before the WSGI app runs on a
thread, memory returned to the system after large requests, workers that die
with their master.

Below :mod:`anomed_anonymizer.cli` (which parses flags and calls
:func:`~.serving.run_gunicorn`) and beside :mod:`anomed_anonymizer.server`
(the apps it serves, which it does not import). Only :mod:`.bridge` imports
uvicorn.
"""

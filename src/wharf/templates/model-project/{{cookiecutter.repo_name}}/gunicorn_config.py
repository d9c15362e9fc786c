"""Gunicorn settings, read from the environment so the project runs unchanged everywhere.

OpenShift's Python S2I builder and Wharf both start gunicorn with this file
(``APP_CONFIG=gunicorn_config.py`` in ``.s2i/environment``). Wharf also passes the address it
assigned on the command line, which wins over ``bind`` here.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("GUNICORN_PROCESSES", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))

# S2I's default gunicorn settings log each request to stdout; a config file replaces those
# defaults, so ask for the same here.
accesslog = "-"

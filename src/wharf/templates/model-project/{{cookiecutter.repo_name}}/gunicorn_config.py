"""Gunicorn settings, read from the environment so the project runs unchanged everywhere.

OpenShift's Python S2I builder and Wharf both start gunicorn with this file
(``APP_CONFIG=gunicorn_config.py`` in ``.s2i/environment``). Wharf also passes the address it
assigned on the command line, which wins over ``bind`` here.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("GUNICORN_PROCESSES", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))

# Behind a route (Wharf's proxy, an OpenShift router) the app is reached through a proxy:
# trust its X-Forwarded-* headers so the app sees the client's address and, behind a TLS
# route, that the request came in over https (url_for builds https links).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
secure_scheme_headers = {
    "X-FORWARDED-PROTOCOL": "ssl",
    "X-FORWARDED-PROTO": "https",
    "X-FORWARDED-SSL": "on",
}

# S2I's default gunicorn settings log each request to stdout; a config file replaces those
# defaults, so ask for the same here.
accesslog = "-"

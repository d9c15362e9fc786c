"""The web app: health checks, and the prediction routes that call ``prediction.predict``.

Gunicorn serves ``application`` (``wsgi:application``) on OpenShift and on Wharf;
``1_run_flask.ipynb`` runs it on Flask's development server.
"""

import json

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from prediction import predict

application = Flask(__name__)


@application.get("/")
@application.get("/status")
def status():
    """Answer health checks (Wharf's readiness probe and OpenShift's probes ask here)."""
    return jsonify(status="ok")


@application.post("/predictions")
@application.post("/prediction")
def create_prediction():
    """Call ``predict`` with the JSON body; an empty body means ``{}``."""
    # Parse the raw body ourselves: clients that forget the Content-Type header still work,
    # and a malformed body gets a JSON error instead of an HTML page.
    body = request.get_data()
    if not body.strip():
        args = {}
    else:
        try:
            args = json.loads(body)
        except ValueError as exc:
            return jsonify(error=f"the request body is not valid JSON: {exc}"), 400
    if not isinstance(args, dict):
        return jsonify(error='the request body must be a JSON object, like {"data": ...}'), 400
    return jsonify(predict(args))


@application.errorhandler(HTTPException)
def http_error(error):
    """Unknown routes and wrong methods answer in JSON too."""
    return jsonify(error=error.description), error.code


if __name__ == "__main__":
    application.run(host="127.0.0.1", port=5000)

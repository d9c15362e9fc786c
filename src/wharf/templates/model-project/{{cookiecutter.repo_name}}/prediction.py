"""The model of {{ cookiecutter.project_name }}: ``predict`` turns one request into one answer.

The web app (``wsgi.py``), the notebooks and the tests all call ``predict``, so the same code
runs in a notebook, under ``wharf serve`` and when deployed.
"""


def predict(args: dict) -> dict:
    """Return a JSON-serialisable answer for one request.

    ``args`` is the request's JSON body as a dict, for example ``{"data": "hello world"}``.
    Replace the body of this function with your model. Load the model once, at module level
    (for example ``model = joblib.load("model.joblib")`` above this function), not on every
    call: each call should only turn ``args`` into the model's input and its output into a
    dict of plain values (str, int, float, bool, None, lists and dicts of them).
    """
    return {"prediction": "not implemented"}

"""``predict`` keeps its contract: a dict in, a JSON-serialisable dict out."""

import json

from prediction import predict

# Change this to a request your model understands once ``predict`` is implemented.
SAMPLE_REQUEST = {"data": "hello world"}


def test_predict_returns_a_json_serialisable_dict():
    result = predict(SAMPLE_REQUEST)
    assert isinstance(result, dict)
    json.dumps(result)

"""The web app answers health checks and passes JSON bodies to ``predict``."""

import pytest

import wsgi


@pytest.fixture
def client():
    return wsgi.application.test_client()


@pytest.fixture
def calls(monkeypatch):
    """Replace ``predict`` with one that records what it was called with."""
    received = []

    def fake_predict(args):
        received.append(args)
        return {"echo": args}

    monkeypatch.setattr(wsgi, "predict", fake_predict)
    return received


@pytest.mark.parametrize("path", ["/", "/status"])
def test_health_checks_answer_ok(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/predictions", "/prediction"])
def test_prediction_routes_pass_the_body_to_predict(client, calls, path):
    response = client.post(path, json={"data": "hello world"})
    assert response.status_code == 200
    assert response.get_json() == {"echo": {"data": "hello world"}}
    assert calls == [{"data": "hello world"}]


def test_a_body_without_content_type_is_still_read_as_json(client, calls):
    response = client.post("/predictions", data='{"data": 1}')
    assert response.status_code == 200
    assert calls == [{"data": 1}]


def test_an_empty_body_means_no_arguments(client, calls):
    response = client.post("/predictions")
    assert response.status_code == 200
    assert calls == [{}]


def test_malformed_json_is_a_400_with_a_json_error(client, calls):
    response = client.post("/predictions", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]
    assert calls == []


def test_a_json_value_that_is_not_an_object_is_a_400(client, calls):
    response = client.post("/predictions", json=[1, 2, 3])
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


def test_unknown_routes_answer_in_json(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_the_real_predict_answers_through_the_app(client):
    response = client.post("/predictions", json={"data": "hello world"})
    assert response.status_code == 200
    assert isinstance(response.get_json(), dict)

"""SDK entities accept the Azure ML spellings users bring along."""

from __future__ import annotations

import pytest

from wharf import Model


@pytest.mark.parametrize(
    ("azure_type", "flavor"), [("custom_model", "custom"), ("mlflow_model", "mlflow")]
)
def test_azure_model_type_names_the_flavor(azure_type: str, flavor: str) -> None:
    model = Model.model_validate({"name": "clf", "path": "./model", "type": azure_type})
    assert model.flavor == flavor
    assert "type" not in model.model_dump()


def test_flavor_defaults_to_custom() -> None:
    assert Model(name="clf", path="./model").flavor == "custom"

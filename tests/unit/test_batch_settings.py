"""Batch deployment settings: the design's defaults, ranges, Azure spellings, overrides."""

from __future__ import annotations

import pytest

from wharf.batch.settings import BatchSettings, override_batch_settings, parse_batch_settings
from wharf.errors import Invalid


def test_defaults_are_the_designs() -> None:
    settings = BatchSettings()
    assert settings.instance_count == 1
    assert settings.max_concurrency_per_instance == 1
    assert settings.mini_batch_size == 10
    assert settings.mini_batch_rows is None
    assert settings.error_threshold == -1
    assert settings.retry_settings.max_retries == 3
    assert settings.retry_settings.timeout == 30
    assert settings.output_action == "append_row"
    assert settings.output_file_name == "predictions.csv"
    assert settings.output_format == "csv"
    assert settings.logging_level == "info"
    assert settings.environment_variables == {}


def test_every_setting_is_documented() -> None:
    for model in (BatchSettings, BatchSettings.model_fields["retry_settings"].annotation):
        assert model is not None
        missing = [name for name, f in model.model_fields.items() if not f.description]
        assert missing == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mini_batch_size": 0}, "mini_batch_size: Input should be greater than or equal to 1"),
        ({"instance_count": 0}, "instance_count: Input should be greater than or equal to 1"),
        ({"max_concurrency_per_instance": 0}, "max_concurrency_per_instance: Input should be"),
        ({"error_threshold": -2}, "error_threshold: Input should be greater than or equal to -1"),
        ({"retry_settings": {"max_retries": -1}}, "retry_settings.max_retries: Input should be"),
        ({"retry_settings": {"timeout": 0}}, "retry_settings.timeout: Input should be greater"),
        ({"output_action": "append"}, "output_action: Input should be 'append_row' or"),
        ({"output_file_name": "out.txt"}, "output_file_name: must end with one of .csv, .parquet"),
        ({"output_file_name": "a/out.csv"}, "output_file_name: must be a plain file name"),
        ({"logging_level": "loud"}, "logging_level: Input should be 'debug'"),
        ({"mini_batch_rows": 0}, "mini_batch_rows: Input should be greater than or equal to 1"),
        ({"mini_batch_sise": 3}, "mini_batch_sise: is not a batch deployment setting"),
    ],
)
def test_out_of_range_settings_are_invalid(data: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_batch_settings(data)
    assert caught.value.detail.startswith(message), caught.value.detail
    assert caught.value.code == "invalid-batch-settings"


def test_azure_spellings_are_accepted() -> None:
    settings = parse_batch_settings(
        {"output_action": "SummaryOnly", "logging_level": "WARNING", "output_file_name": "x.jsonl"}
    )
    assert settings.output_action == "summary_only"
    assert settings.logging_level == "warning"
    assert settings.output_format is None
    assert parse_batch_settings({"output_action": "AppendRow"}).output_action == "append_row"


def test_output_format_follows_the_extension() -> None:
    assert parse_batch_settings({"output_file_name": "p.PARQUET"}).output_format == "parquet"
    assert parse_batch_settings({"output_file_name": "p.jsonl"}).output_format == "jsonl"


def test_overrides_are_validated_and_merge_retry_settings() -> None:
    base = parse_batch_settings({"retry_settings": {"max_retries": 5}, "mini_batch_size": 3})
    changed = override_batch_settings(
        base, {"mini_batch_size": 20, "retry_settings": {"timeout": 9}}
    )
    assert changed.mini_batch_size == 20
    assert changed.retry_settings.max_retries == 5
    assert changed.retry_settings.timeout == 9
    with pytest.raises(Invalid, match="mini_batch_size"):
        override_batch_settings(base, {"mini_batch_size": -1})
    assert BatchSettings(instance_count=2, max_concurrency_per_instance=3).process_count == 6


def test_environment_variable_values_from_yaml_become_text() -> None:
    settings = parse_batch_settings(
        {"environment_variables": {"OMP_NUM_THREADS": 1, "DEBUG": True, "RATE": 0.5, "A": "b"}}
    )
    assert settings.environment_variables == {
        "OMP_NUM_THREADS": "1",
        "DEBUG": "true",
        "RATE": "0.5",
        "A": "b",
    }
    with pytest.raises(Invalid, match=r"environment_variables\.X"):
        parse_batch_settings({"environment_variables": {"X": [1]}})

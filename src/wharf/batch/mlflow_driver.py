"""Wharf's scoring driver for MLflow models deployed without a scoring script (as Azure ML has).

A batch worker in ``mlflow`` mode loads this file by path, in the deployment's environment, where
MLflow and pandas are installed from the model's own requirements and Wharf is not: so it imports
only the standard library at the top, and runs on Python 3.9 and later. ``load`` runs once per
worker; ``score`` once per mini-batch, calling ``predict`` once per file or per row slice (with
``mini_batch_rows``), so big files never have to fit in memory at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# MLflow column types as pandas reads them from CSV, so that "long" stays an integer column and
# "double" a float one whatever the first rows look like.
_DTYPES = {
    "long": "int64",
    "integer": "int32",
    "double": "float64",
    "float": "float32",
    "string": "object",
    "boolean": "bool",
}
READABLE = (".csv", ".parquet")
UNNAMED = "prediction"

CallUser = Callable[..., Any]


@dataclass
class LoadedModel:
    """A loaded pyfunc model and what its signature says about columns."""

    model: Any
    input_types: dict[str, str] = field(default_factory=dict)
    output_names: list[str] = field(default_factory=list)


def load(model_dir: str) -> LoadedModel:
    """``mlflow.pyfunc.load_model`` once; the signature's column types and output names."""
    import mlflow.pyfunc  # type: ignore[import-not-found]  # the deployment's, not the server's

    model = mlflow.pyfunc.load_model(model_dir)
    loaded = LoadedModel(model)
    inputs = model.metadata.get_input_schema()
    if inputs is not None and not inputs.is_tensor_spec():
        for column in inputs.inputs:
            kind = getattr(column.type, "name", str(column.type))
            if column.name and kind in _DTYPES:
                loaded.input_types[column.name] = _DTYPES[kind]
    outputs = model.metadata.get_output_schema()
    if outputs is not None and not outputs.is_tensor_spec():
        loaded.output_names = [column.name for column in outputs.inputs if column.name]
    return loaded


def score(loaded: LoadedModel, items: list[dict[str, Any]], layout: str, call: CallUser) -> Any:
    """The predictions for a mini-batch's items, in input order: the prediction columns, then
    ``file`` and (``wharf`` layout) ``row``, 1-based within its file."""
    import pandas  # type: ignore[import-untyped]

    frames = []
    for item in items:
        label = _label(item)
        frame = call("reading the input", label, read_item, pandas, item, loaded.input_types)
        predictions = call("predict()", label, loaded.model.predict, frame)
        out = call("predict()", label, to_frame, pandas, predictions, loaded.output_names, frame)
        if layout == "azure":
            out["file"] = os.path.basename(item["name"])
        else:
            first = (item["start"] or 0) + 1
            out["file"] = item["name"]
            out["row"] = range(first, first + len(out))
        frames.append(out)
    return pandas.concat(frames, ignore_index=True) if frames else pandas.DataFrame()


def read_item(pandas: Any, item: dict[str, Any], types: dict[str, str]) -> Any:
    """One file, or its rows [start, stop), as a DataFrame with the signature's column types."""
    path, start, stop = item["path"], item["start"], item["stop"]
    extension = os.path.splitext(path)[1].lower()
    if extension not in READABLE:
        shown = f"{extension} files" if extension else "files without an extension"
        raise ValueError(
            f"{item['name']}: an MLflow model deployment without a scoring script reads CSV "
            f"and Parquet files, not {shown}; give it a scoring script for other inputs"
        )
    if extension == ".parquet":
        frame = pandas.read_parquet(path)
        if start is not None:
            frame = frame.iloc[start:stop].reset_index(drop=True)
        return _typed(frame, types)
    if start is None:
        return _read_csv(pandas, types, path)
    if item.get("offset") is None:  # quoted fields: parse up to the rows
        return _read_csv(pandas, types, path, skiprows=range(1, start + 1), nrows=stop - start)
    columns = list(pandas.read_csv(path, nrows=0).columns)
    with open(path, "rb") as handle:
        handle.seek(item["offset"])
        return _read_csv(pandas, types, handle, header=None, names=columns, nrows=stop - start)


def _read_csv(pandas: Any, types: dict[str, str], source: Any, **options: Any) -> Any:
    position = source.tell() if hasattr(source, "tell") else None
    try:
        return pandas.read_csv(source, dtype=types or None, **options)
    except (ValueError, TypeError):
        # A column the signature calls an integer has gaps or text: read it as it is and let
        # the model's own schema check say what is wrong.
        if position is not None:
            source.seek(position)
        return pandas.read_csv(source, **options)


def _typed(frame: Any, types: dict[str, str]) -> Any:
    present = {name: kind for name, kind in types.items() if name in frame.columns}
    try:
        return frame.astype(present) if present else frame
    except (ValueError, TypeError):
        return frame


def to_frame(pandas: Any, predictions: Any, names: list[str], frame: Any) -> Any:
    """``predict``'s result as columns: a DataFrame as it is, a Series or a 1-D array as one
    column named by the output schema (``prediction`` when it names none)."""
    if hasattr(predictions, "columns"):
        out = predictions.reset_index(drop=True)
    else:
        values = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
        rows = values if values and isinstance(values[0], list) else None
        if rows is None:
            out = pandas.DataFrame({names[0] if len(names) == 1 else UNNAMED: values})
        else:
            width = len(rows[0])
            columns = names if len(names) == width else [f"{UNNAMED}_{i}" for i in range(width)]
            out = pandas.DataFrame(rows, columns=columns)
    if len(out) != len(frame):
        raise ValueError(f"predict() returned {len(out)} rows for {len(frame)} input rows")
    return out


def _label(item: dict[str, Any]) -> str:
    if item["start"] is None:
        return str(item["name"])
    return f"{item['name']} rows {item['start'] + 1}-{item['stop']}"

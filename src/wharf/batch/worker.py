"""The batch worker process: loads a deployment's code once, then scores mini-batches sent to it.

It runs under the *deployment's* interpreter as ``python <this file> serve``, where Wharf is not
installed, so it imports only the standard library, plus pandas and pyarrow when the deployment's
own requirements bring them, and it runs on Python 3.9 and later.

Protocol: one JSON object per line. Commands come on stdin (``config`` first, then ``task``s, then
``stop``); events go out on the process's original stdout (``ready`` or ``init_failed``, then
``started`` and ``done`` or ``failed`` per task). Everything else the process prints, the user's
code included, goes to stderr, which is the job log. When stdin closes without a ``stop``, or the
parent process changes, the controller is gone: the worker kills its process group and exits.
"""

from __future__ import annotations

import os
import sys

# Run as a script, Python puts this file's folder first on sys.path, where Wharf's own modules
# (settings.py, planner.py...) would shadow the standard library and the user's modules.
if sys.path and os.path.realpath(sys.path[0] or ".") == os.path.dirname(os.path.realpath(__file__)):
    del sys.path[0]

import csv
import importlib
import importlib.util
import itertools
import json
import logging
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from types import ModuleType, TracebackType
from typing import IO, Any

Message = dict[str, Any]

ORPHAN_EXIT_CODE = 70
_log = logging.getLogger("wharf.batch.worker")


class CallFailed(Exception):
    """User code (or reading the input for it) raised: what was called, on which item."""

    def __init__(self, call: str, where: str | None, error: BaseException) -> None:
        super().__init__(call)
        self.call = call
        self.where = where
        self.error = error

    def to_message(self) -> Message:
        return {
            "kind": "error",
            "call": self.call,
            "exception": type(self.error).__name__,
            "message": str(self.error),
            "traceback": format_user_traceback(self.error),
            "where": self.where,
        }


def format_user_traceback(error: BaseException) -> str:
    """The traceback without the worker's own frames on top: the user's code is what matters."""
    tb: TracebackType | None = error.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename == __file__
        or tb.tb_frame.f_code.co_filename.startswith("<frozen importlib")
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def call_user(call: str, where: str | None, function: Callable[..., Any], *args: Any) -> Any:
    """Call user code; any exception, ``SystemExit`` included, becomes a ``CallFailed``."""
    try:
        return function(*args)
    except BaseException as exc:  # a sys.exit() in run() must fail the mini-batch, not the worker
        raise CallFailed(call, where, exc) from exc


def import_optional(name: str) -> Any:
    """A module of the deployment's environment, or None when its requirements lack it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def require(name: str, purpose: str) -> Any:
    module = import_optional(name)
    if module is None:
        raise RuntimeError(f"{purpose} needs {name} in the deployment's requirements")
    return module


# --- loading the deployment's code -------------------------------------------------------------


def load_module_from_file(path: str) -> ModuleType:
    name = os.path.splitext(os.path.basename(path))[0]
    if name in sys.modules:  # a script called json.py must not replace the json the worker uses
        name = f"_wharf_scoring_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that pickling and dataclasses in the script work
    spec.loader.exec_module(module)
    return module


def load_entry(entry: str) -> Callable[..., Any]:
    module_name, _, function_name = entry.partition(":")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"{module_name} has no function {function_name}")
    return function  # type: ignore[no-any-return]


def load_scorer(config: Message) -> Callable[[Message], Message]:
    """Import the deployment's code (and call ``init()``); return the function that runs a task."""
    if config["output_format"] == "parquet":  # fail before any work, not on every mini-batch
        call_user("starting the worker", None, require, "pyarrow", "writing Parquet output")
    code_dir = config["code_dir"]
    sys.path.insert(0, code_dir)
    mode = config["mode"]
    if mode == "script":
        script = os.path.join(code_dir, config["script"])
        sys.path.insert(0, os.path.dirname(script))
        module = call_user(f"loading {config['script']}", None, load_module_from_file, script)
        run = getattr(module, "run", None)
        if not callable(run):
            error = AttributeError(f"{config['script']} defines no run(mini_batch) function")
            raise CallFailed(f"loading {config['script']}", None, error)
        init = getattr(module, "init", None)
        if callable(init):
            call_user("init()", None, init)
        return lambda task: run_script_task(run, task, config["output_format"])
    if mode == "predict":
        entry = f"{config['module']}:{config['function']}"
        predict = call_user(f"loading {entry}", None, load_entry, entry)
        return lambda task: run_predict_task(predict, task, config["output_format"])
    if mode == "mlflow":
        # Wharf's driver, a file beside this one: MLflow is imported in this environment only.
        driver = call_user(
            "loading the MLflow driver", None, load_module_from_file, config["driver"]
        )
        model = call_user(
            "loading the MLflow model", None, driver.load, os.environ["WHARF_MODEL_DIR"]
        )
        layout = config["layout"]
        return lambda task: call_user(
            "writing the output",
            None,
            write_result,
            driver.score(model, task["items"], layout, call_user),
            task["staged_path"],
            config["output_format"],
        )
    if mode == "component":
        entry = config["entry"]
        function = call_user(f"loading {entry}", None, load_entry, entry)
        call = f"{entry.partition(':')[2]}()"
        return lambda task: run_component_task(function, call, task)
    raise ValueError(f"unknown worker mode {mode!r}")


# --- running tasks ----------------------------------------------------------------------------


def run_script_task(run: Callable[..., Any], task: Message, fmt: str | None) -> Message:
    items = task["items"]
    if any(item["start"] is not None for item in items):
        mini_batch: Any = read_frame(items)
    else:
        mini_batch = [item["path"] for item in items]
    result = call_user("run()", None, run, mini_batch)
    written: Message = call_user(
        "writing the output", None, write_result, result, task["staged_path"], fmt
    )
    return written


def run_predict_task(predict: Callable[..., Any], task: Message, fmt: str | None) -> Message:
    outputs = [call_user("predict()", where, predict, row) for where, row in iter_rows(task)]
    written: Message = call_user(
        "writing the output", None, write_result, outputs, task["staged_path"], fmt
    )
    return written


def run_component_task(function: Callable[..., Any], call: str, task: Message) -> Message:
    arguments = task["arguments"]
    call_user(call, None, lambda: function(**arguments))
    return {"rows": 0, "staged_path": None}


def item_label(item: Message) -> str:
    """As ``Item.label`` on the controller side."""
    if item["start"] is None:
        return str(item["name"])
    if item["stop"] - item["start"] == 1:
        return f"{item['name']} row {item['stop']}"
    return f"{item['name']} rows {item['start'] + 1}-{item['stop']}"


def read_frame(items: list[Message]) -> Any:
    """Row-split items as one pandas DataFrame: what ``run()`` gets for rows of tabular data."""
    pandas = call_user("reading the input", None, require, "pandas", "run() on rows")
    frames = []
    for item in items:
        frames.append(call_user("reading the input", item_label(item), read_slice, pandas, item))
    return pandas.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def read_slice(pandas: Any, item: Message) -> Any:
    path, start, stop = item["path"], item["start"], item["stop"]
    if path.lower().endswith(".parquet"):
        table = read_parquet_slice(path, start, stop)
        return table.to_pandas()
    if start is None:
        return pandas.read_csv(path)
    if item.get("offset") is None:  # a file with quoted fields: parse up to the rows
        return pandas.read_csv(path, skiprows=range(1, start + 1), nrows=stop - start)
    columns = list(pandas.read_csv(path, nrows=0).columns)
    with open(path, "rb") as handle:
        handle.seek(item["offset"])
        return pandas.read_csv(handle, header=None, names=columns, nrows=stop - start)


def read_parquet_slice(path: str, start: int | None, stop: int | None) -> Any:
    """A Parquet file's rows [start, stop), reading only the row groups that hold them."""
    parquet = require("pyarrow.parquet", "reading Parquet input")
    handle = parquet.ParquetFile(path)
    if start is None or stop is None:
        return handle.read()
    groups, first_row, offset = [], None, 0
    for index in range(handle.metadata.num_row_groups):
        size = handle.metadata.row_group(index).num_rows
        if offset < stop and offset + size > start:
            groups.append(index)
            first_row = offset if first_row is None else first_row
        offset += size
    table = handle.read_row_groups(groups)
    return table.slice(start - (first_row or 0), stop - start)


def iter_rows(task: Message) -> Iterator[tuple[str, Any]]:
    """``(label, row as a dict)`` for every row of the task's items, in order.

    Rows get JSON's types (numbers, strings, booleans, None), as a ``predict`` serving online
    gets them from a request body.
    """
    pandas = import_optional("pandas")
    for item in task["items"]:
        label = item_label(item)
        rows = call_user("reading the input", label, read_rows, pandas, item)
        first = item["start"] or 0
        for number, row in enumerate(rows, start=first + 1):
            yield f"{item['name']} row {number}", row


def read_rows(pandas: Any, item: Message) -> list[Any]:
    path = item["path"]
    if path.lower().endswith(".parquet"):
        rows: list[Any] = read_parquet_slice(path, item["start"], item["stop"]).to_pylist()
        return rows
    if pandas is not None:
        frame = read_slice(pandas, item)
        return json.loads(frame.to_json(orient="records"))  # type: ignore[no-any-return]
    start, stop, offset = item["start"], item["stop"], item.get("offset")
    # utf-8-sig drops a byte-order mark at the start; a seek mid-file leaves the bytes alone.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if start is None:
            selected: Iterator[dict[str, Any]] = iter(reader)
        elif offset is None:  # a file with quoted fields: parse up to the rows
            selected = itertools.islice(reader, start, stop)
        else:
            columns = next(csv.reader(handle))
            handle.seek(offset)
            selected = itertools.islice(csv.DictReader(handle, fieldnames=columns), stop - start)
        return [{key: parse_csv_value(value) for key, value in row.items()} for row in selected]


def parse_csv_value(text: str | None) -> Any:
    """A CSV cell as the JSON value it most likely is (without pandas to infer column types)."""
    if text is None or text == "":
        return None
    if text in ("True", "true", "False", "false"):
        return text in ("True", "true")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


# --- writing staged results -------------------------------------------------------------------


def write_result(result: Any, staged_path: str | None, fmt: str | None) -> Message:
    """Write what ``run()`` returned to the attempt's staged file; return the row count."""
    if hasattr(result, "to_csv") and hasattr(result, "columns"):  # a pandas DataFrame
        rows = len(result)
        if fmt is not None and staged_path is not None:
            write_frame(result, staged_path, fmt)
            sync_file(staged_path)
            return {"rows": rows, "staged_path": staged_path}
        return {"rows": rows, "staged_path": None}
    if result is None:
        records: list[Any] = []
    elif hasattr(result, "tolist"):  # numpy arrays and pandas Series
        records = list(result.tolist())
    else:
        records = list(result)
    if fmt is None or staged_path is None or not records:
        return {"rows": len(records), "staged_path": None}
    rows_out = [record if isinstance(record, dict) else {"result": record} for record in records]
    write_records(rows_out, staged_path, fmt)
    sync_file(staged_path)
    return {"rows": len(rows_out), "staged_path": staged_path}


def sync_file(path: str) -> None:
    """Flush a staged file to disk before reporting it: the controller records it as done."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_frame(frame: Any, path: str, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        require("pyarrow", "writing Parquet output")
        frame.to_parquet(path, index=False)


def write_records(records: list[dict[str, Any]], path: str, fmt: str) -> None:
    if fmt == "csv":
        columns = list(dict.fromkeys(key for record in records for key in record))
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
    elif fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, default=to_json_value) + "\n")
    else:
        pyarrow = require("pyarrow", "writing Parquet output")
        parquet = require("pyarrow.parquet", "writing Parquet output")
        parquet.write_table(pyarrow.Table.from_pylist(records), path)


def to_json_value(value: Any) -> Any:
    """numpy scalars become Python numbers; anything else unknown becomes its text."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# --- the serving loop -------------------------------------------------------------------------


def exit_orphaned(reason: str) -> None:
    """The controller is gone: nobody will take our results. Stop this process group now."""
    _log.warning("%s; exiting", reason)
    logging.shutdown()
    if os.getpgrp() == os.getpid():  # the controller starts each worker in its own group
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(ORPHAN_EXIT_CODE)


def read_commands(stream: IO[bytes], inbox: queue.Queue[Message]) -> None:
    for line in stream:
        message = json.loads(line)
        inbox.put(message)
        if message["type"] == "stop":
            return
    exit_orphaned("the controller closed the command pipe")


def watch_parent(parent: int) -> None:
    # Pipe EOF is the fast signal; this catches a controller whose pipe lives on in a forked child.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            exit_orphaned("the controller process is gone")


def take_channels() -> tuple[IO[bytes], IO[str]]:
    """Keep stdin and stdout for the protocol; point fds 0 and 1 away so that the user's code
    (and any process it starts) can neither read commands nor corrupt the event stream."""
    commands = os.fdopen(os.dup(0), "rb")
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return commands, events


def serve() -> int:
    commands, events = take_channels()

    def send(message: Message) -> None:
        events.write(json.dumps(message, default=to_json_value) + "\n")
        events.flush()

    inbox: queue.Queue[Message] = queue.Queue()
    threading.Thread(target=read_commands, args=(commands, inbox), daemon=True).start()
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    config = inbox.get()
    logging.basicConfig(
        level=config["logging_level"].upper(),
        stream=sys.stderr,
        format=f"%(asctime)s {config['worker']} %(levelname)s %(name)s: %(message)s",
    )
    try:
        score = load_scorer(config)
    except CallFailed as failed:
        send({"type": "init_failed", "error": failed.to_message()})
        return 1
    _log.info("ready (pid %d, %s)", os.getpid(), sys.executable)
    send({"type": "ready", "pid": os.getpid()})
    while True:
        message = inbox.get()
        if message["type"] == "stop":
            return 0
        ids = {"batch_id": message["batch_id"], "attempt": message["attempt"]}
        send({"type": "started", **ids})
        try:
            outcome = score(message)
        except CallFailed as failed:
            send({"type": "failed", **ids, "error": failed.to_message()})
        except Exception as exc:  # a bug of the worker itself: still report it, keep serving
            error = CallFailed("the worker", None, exc).to_message()
            send({"type": "failed", **ids, "error": error})
        else:
            send({"type": "done", **ids, **outcome})


# --- one-shot commands the controller runs in the deployment's environment --------------------


def count_rows(paths: list[str]) -> int:
    """Print the data-row count of each Parquet file as a JSON list."""
    parquet = require("pyarrow.parquet", "splitting Parquet input by rows")
    print(json.dumps([parquet.ParquetFile(path).metadata.num_rows for path in paths]))
    return 0


def merge_parquet(target: str, sources: list[str]) -> int:
    """Concatenate staged Parquet files in order into ``target``."""
    pyarrow = require("pyarrow", "writing Parquet output")
    parquet = require("pyarrow.parquet", "writing Parquet output")
    if not sources:
        parquet.write_table(pyarrow.table({}), target)
        return 0
    schemas = [parquet.read_schema(path) for path in sources]
    if all(schema.equals(schemas[0]) for schema in schemas):
        with parquet.ParquetWriter(target, schemas[0]) as writer:
            for path in sources:
                writer.write_table(parquet.read_table(path))
        return 0
    tables = [parquet.read_table(path) for path in sources]
    try:
        table = pyarrow.concat_tables(tables, promote_options="default")
    except TypeError:  # pyarrow < 14
        table = pyarrow.concat_tables(tables, promote=True)
    parquet.write_table(table, target)
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "serve":
        return serve()
    if command == "count-rows":
        return count_rows(argv[1:])
    if command == "merge-parquet":
        return merge_parquet(argv[1], argv[2:])
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The one reference parser: every interface turns reference text into these objects here.

Accepted spellings (``docs/storage.md`` has the full table):

- ``data:<name>@latest``, ``data:<name>:<version>``, and the same with ``model:``
- ``wharf://datastores/<datastore>/paths/<path>``
- Azure ML aliases: ``azureml:<name>@latest``, ``azureml:<name>:<version>``,
  ``azureml://datastores/<datastore>/paths/<path>``, and the long forms
  ``azureml://subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/datastores/<d>/paths/<p>``,
  ``azureml:/subscriptions/.../data/<name>/versions/<v>`` (one or two slashes), the same
  ids without ``azureml:`` (what ``.id`` gives: ``/subscriptions/.../providers/
  Microsoft.MachineLearningServices/workspaces/<w>/...``), ``azureml:/<name>@latest`` (one
  slash), and ``azureml://locations/<l>/workspaces/<w>/data/<name>/versions/<v>`` or
  ``.../versions/labels/latest``
- URLs: ``s3://``, ``az://``, ``abfs://``, ``abfss://``, ``gs://``, ``gcs://``, ``https://``
- Local paths, which only the CLI and SDK act on (they upload them first): text starting
  with ``/``, ``./``, ``../``, ``~``, ``\\`` or a Windows drive (``C:\\``), ``file:///...``,
  and any text without a scheme (``data/heart.csv``). Text with an unknown scheme
  (``ftp://x``, ``my:file``) is an error, not a local path: write ``./my:file``.

Surrounding whitespace is ignored. Anything else raises :class:`Invalid` (code
``invalid-reference``) with a message that quotes the reference and says what is wrong.
``format_reference`` gives the canonical Wharf spelling, and for every reference ``r``,
``parse_reference(format_reference(r)) == r``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias
from urllib.parse import unquote, urlsplit

from wharf.errors import Invalid
from wharf.storage.paths import find_path_problem

AssetKind = Literal["data", "model"]
Label = Literal["latest"]

MAX_NAME_LENGTH = 255
MAX_VERSION_LENGTH = 255
URL_SCHEMES = ("s3", "az", "abfs", "abfss", "gs", "gcs", "https")
REFERENCE_CODE = "invalid-reference"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_LOCAL_PREFIXES = ("/", "./", "../", "~", "\\")
_AZUREML_LONG = re.compile(
    r"/{1,2}subscriptions/[^/]+/resourcegroups/[^/]+/"
    r"(?:providers/microsoft\.machinelearningservices/)?workspaces/[^/]+/(?P<tail>.*)",
    re.IGNORECASE | re.DOTALL,
)
_AZURE_ID = re.compile(
    r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.machinelearningservices/"
    r"workspaces/[^/]+/(?:data|models|datastores)/.+",
    re.IGNORECASE | re.DOTALL,
)
_AZUREML_LOCATION = re.compile(
    r"//locations/[^/]+/workspaces/[^/]+/(?P<tail>(?:data|models)/.*)",
    re.IGNORECASE | re.DOTALL,
)
AZURE_ID_PREFIX = (
    "/subscriptions/wharf/resourceGroups/wharf/providers/Microsoft.MachineLearningServices"
)
_SHOWN_LENGTH = 200
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:?#]*):[^/@?#]*@")
_FORMS = (
    "data:<name>@latest, data:<name>:<version> (or model:...), "
    "wharf://datastores/<datastore>/paths/<path>, azureml:..., "
    "s3://, az://, abfs://, gs://, https:// or a local path"
)


@dataclass(frozen=True)
class AssetReference:
    """A data asset or model by name, with either a ``version`` or the ``latest`` label."""

    kind: AssetKind
    name: str
    version: str | None = None
    label: Label | None = None

    def __post_init__(self) -> None:
        problem = _find_asset_problem(self.kind, self.name, self.version, self.label)
        if problem is not None:
            raise _ReferenceProblem(_draft_asset(self), problem)


@dataclass(frozen=True)
class DatastorePathReference:
    """A path inside a named datastore (empty: its root; a trailing ``/``: a folder)."""

    datastore: str
    path: str

    def __post_init__(self) -> None:
        problem = _find_datastore_path_problem(self.datastore, self.path)
        if problem is not None:
            raise _ReferenceProblem(_format_datastore_path(self), problem)


@dataclass(frozen=True)
class UrlReference:
    """An external URL; ``scheme`` is lower-case and ``url`` starts with ``<scheme>://``."""

    scheme: str
    url: str

    def __post_init__(self) -> None:
        problem = _find_url_problem(self.scheme, self.url)
        if problem is not None:
            raise _ReferenceProblem(self.url, problem)


@dataclass(frozen=True)
class LocalPathReference:
    """A path on the caller's machine, kept as written; the CLI and SDK upload it."""

    path: str

    def __post_init__(self) -> None:
        problem = _find_local_path_problem(self.path)
        if problem is not None:
            raise _ReferenceProblem(self.path, problem)


Reference: TypeAlias = AssetReference | DatastorePathReference | UrlReference | LocalPathReference


class _ReferenceProblem(Invalid):
    """Raised while parsing or building a reference; carries the bare reason."""

    def __init__(self, shown: str, problem: str) -> None:
        super().__init__(_message(shown, problem), code=REFERENCE_CODE, reference=shown)
        self.problem = problem


def parse_reference(text: str, *, azureml_kind: AssetKind = "data") -> Reference:
    """The reference that ``text`` spells, or :class:`Invalid` naming it and the problem.

    ``azureml_kind`` says what ``azureml:<name>...`` means where the text alone cannot
    (Azure ML uses one prefix for data and models): ``"model"`` for a deployment's model.
    """
    try:
        return _parse(text.strip(), azureml_kind)
    except _ReferenceProblem as problem:
        shown = describe_reference(text)
        # A fresh error, so the message quotes what the caller wrote, not a draft.
        raise Invalid(
            _message(shown, problem.problem), code=REFERENCE_CODE, reference=shown
        ) from None


def looks_like_reference(text: str) -> bool:
    """Whether plain text names data rather than being a string literal: it starts with a
    reference scheme (``azureml:``, ``data:``, ``wharf://``, ``https://``, ``s3://``...) or
    is an Azure resource id. Azure reads such strings in ``inputs:`` as data inputs."""
    stripped = text.strip()
    match = _SCHEME.match(stripped)
    if match is not None:
        return match.group(1).lower() in ("azureml", "data", "model", "wharf", *URL_SCHEMES)
    return _AZURE_ID.fullmatch(stripped) is not None


def parse_asset_name(text: str, kind: AssetKind) -> AssetReference:
    """One asset as people name it on a command line: ``heart``, ``heart@latest``,
    ``heart:2``, or any asset reference (``data:heart:2``, ``azureml:heart@latest``).
    A bare name means the latest version."""
    stripped = text.strip()
    prefixed = ":" in stripped and stripped.split(":", 1)[0].lower() in ("data", "model", "azureml")
    candidate = stripped if prefixed else f"{kind}:{stripped}"
    if "@" not in candidate and candidate.count(":") < 2:
        candidate += "@latest"
    reference = parse_reference(candidate, azureml_kind=kind)
    if not isinstance(reference, AssetReference) or reference.kind != kind:
        raise Invalid(f"{text!r} does not name a {'data asset' if kind == 'data' else kind}")
    return reference


def format_reference(reference: Reference) -> str:
    """The canonical Wharf spelling of ``reference`` (aliases become Wharf forms)."""
    if isinstance(reference, AssetReference):
        return _draft_asset(reference)
    if isinstance(reference, DatastorePathReference):
        return _format_datastore_path(reference)
    if isinstance(reference, UrlReference):
        return reference.url
    return reference.path


def azure_id(workspace: str, collection: str, name: str, version: str | None = None) -> str:
    """The Azure ML resource id of an asset version (``collection``: ``data`` or ``models``)
    or of a datastore (``datastores``, no version), as Azure scripts read ``.id``; it parses
    back to the same thing (the subscription and group are placeholders)."""
    tail = f"{collection}/{name}" + (f"/versions/{version}" if version is not None else "")
    return f"{AZURE_ID_PREFIX}/workspaces/{workspace}/{tail}"


def describe_reference(text: str) -> str:
    """``text`` as error messages show it: a URL's password and query (which may hold a
    SAS token or a signature) are masked, and very long text is shortened."""
    shown = _URL_PASSWORD.sub(r"\1:***@", text.strip())
    if "://" in shown and "?" in shown:
        shown = shown.split("?", 1)[0] + "?..."
    if len(shown) > _SHOWN_LENGTH:
        shown = shown[:_SHOWN_LENGTH] + "..."
    return shown


def find_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid asset or datastore name in a reference, or None."""
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    if not _NAME.fullmatch(name):
        return (
            f"the name {name!r} is not valid: use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    return None


def find_version_problem(version: str) -> str | None:
    """Why ``version`` is not a valid asset version, or None."""
    if not version:
        return "the version is empty"
    if len(version) > MAX_VERSION_LENGTH:
        return f"the version is longer than {MAX_VERSION_LENGTH} characters"
    if not version.isprintable() or any(c.isspace() for c in version):
        return f"the version {version!r} contains a space or a non-printable character"
    for forbidden in "/@:":
        if forbidden in version:
            return f"the version {version!r} contains {forbidden!r}"
    return None


def _message(shown: str, problem: str) -> str:
    return f"reference {shown!r} is not valid: {problem}"


def _parse(text: str, azureml_kind: AssetKind) -> Reference:
    if not text:
        raise _ReferenceProblem(text, f"it is empty; expected {_FORMS}")
    if not text.isprintable():
        raise _ReferenceProblem(text, "it contains a control or non-printable character")
    if _AZURE_ID.fullmatch(text):  # an Azure id as ``.id`` gives it, with no scheme
        return _parse_azureml(text, text, azureml_kind)
    if _looks_local(text):
        return LocalPathReference(text)
    match = _SCHEME.match(text)
    if match is None:
        return LocalPathReference(text)
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if scheme in ("data", "model"):
        return _parse_asset("data" if scheme == "data" else "model", rest, scheme)
    if scheme == "wharf":
        return _parse_wharf(text, rest)
    if scheme == "azureml":
        return _parse_azureml(text, rest, azureml_kind)
    if scheme in URL_SCHEMES:
        return UrlReference(scheme, f"{scheme}:{rest}")
    if scheme == "http":
        raise _ReferenceProblem(text, "plain http:// is not accepted; use https://")
    if scheme == "file":
        return _parse_file_url(text, rest)
    hint = "" if "://" in text else f" (write ./{text} for a local file)"
    raise _ReferenceProblem(text, f"unknown scheme {scheme + ':'!r}; expected {_FORMS}{hint}")


def _looks_local(text: str) -> bool:
    return (
        text.startswith(_LOCAL_PREFIXES)
        or text in (".", "..")
        or _WINDOWS_DRIVE.match(text) is not None
    )


def _parse_asset(kind: AssetKind, rest: str, prefix: str) -> AssetReference:
    shown = f"{prefix}:{rest}"
    cut = min((i for i in (rest.find("@"), rest.find(":")) if i >= 0), default=-1)
    if cut < 0:
        raise _ReferenceProblem(
            shown,
            f"it names no version or label; write {prefix}:{rest}@latest "
            f"or {prefix}:{rest}:<version>",
        )
    name, separator, tail = rest[:cut], rest[cut], rest[cut + 1 :]
    if separator == "@":
        if tail != "latest":
            raise _ReferenceProblem(shown, f"unknown label {tail!r}; only @latest is supported")
        return AssetReference(kind, name, label="latest")
    return AssetReference(kind, name, version=tail)


def _parse_datastore_path(text: str, body: str) -> DatastorePathReference:
    """``body`` is what follows ``datastores/``: ``<datastore>/paths/<path>``."""
    datastore, _, remainder = body.partition("/")
    if remainder != "paths" and not remainder.startswith("paths/"):
        raise _ReferenceProblem(
            text, "expected wharf://datastores/<datastore>/paths/<path> after the datastore name"
        )
    return DatastorePathReference(datastore, remainder[len("paths/") :])


def _parse_wharf(text: str, rest: str) -> DatastorePathReference:
    prefix = "//datastores/"
    if not rest.startswith(prefix):
        raise _ReferenceProblem(
            text, "the only wharf:// reference is wharf://datastores/<datastore>/paths/<path>"
        )
    return _parse_datastore_path(text, rest[len(prefix) :])


def _parse_azureml(text: str, rest: str, kind: AssetKind) -> Reference:
    if rest.startswith("//datastores/"):
        return _parse_datastore_path(text, rest[len("//datastores/") :])
    long_form = _AZUREML_LONG.fullmatch(rest) or _AZUREML_LOCATION.fullmatch(rest)
    if long_form is not None:
        return _parse_azureml_resource(text, long_form.group("tail"))
    if rest.startswith("/") and not rest.startswith("//"):
        # azureml:/<name>@latest, as Azure's inputs.yml examples write it
        return _parse_asset(kind, rest[1:], "azureml")
    if rest.startswith("/"):
        first = rest.lstrip("/").split("/", 1)[0]
        raise _ReferenceProblem(
            text,
            f"azureml://{first}/... references are not supported; use azureml:<name>@latest, "
            "azureml:<name>:<version> or azureml://datastores/<datastore>/paths/<path>",
        )
    return _parse_asset(kind, rest, "azureml")


def _parse_azureml_resource(text: str, tail: str) -> Reference:
    """The part of an Azure resource id after ``workspaces/<ws>/`` (the workspace is the
    caller's Wharf workspace, so the subscription, group and workspace are ignored)."""
    parts = tail.split("/")
    collection = parts[0].lower()
    if collection == "datastores":
        if len(parts) < 3 or parts[2].lower() != "paths":
            raise _ReferenceProblem(text, "expected .../datastores/<datastore>/paths/<path>")
        return DatastorePathReference(parts[1], "/".join(parts[3:]))
    if collection in ("data", "models"):
        kind: AssetKind = "data" if collection == "data" else "model"
        if len(parts) == 5 and parts[2].lower() == "versions" and parts[3].lower() == "labels":
            if parts[4] != "latest":
                raise _ReferenceProblem(
                    text, f"unknown label {parts[4]!r}; only labels/latest is supported"
                )
            return AssetReference(kind, parts[1], label="latest")
        if len(parts) != 4 or parts[2].lower() != "versions":
            raise _ReferenceProblem(
                text,
                f"expected .../{collection}/<name>/versions/<version> or "
                f".../{collection}/<name>/versions/labels/latest",
            )
        return AssetReference(kind, parts[1], version=parts[3])
    raise _ReferenceProblem(
        text,
        "an Azure resource id must end in datastores/<datastore>/paths/<path>, "
        "data/<name>/versions/<version> or models/<name>/versions/<version>",
    )


def _parse_file_url(text: str, rest: str) -> LocalPathReference:
    if not rest.startswith("//"):
        raise _ReferenceProblem(text, "file URLs are written file:///absolute/path")
    host, slash, path = rest[2:].partition("/")
    if host not in ("", "localhost") or not slash:
        raise _ReferenceProblem(text, "file URLs are written file:///absolute/path")
    local = unquote("/" + path)
    problem = _find_local_path_problem(local)
    if problem is not None:
        raise _ReferenceProblem(text, problem)
    return LocalPathReference(local)


def _find_asset_problem(kind: str, name: str, version: str | None, label: str | None) -> str | None:
    if kind not in ("data", "model"):
        return f"unknown asset kind {kind!r}; expected 'data' or 'model'"
    problem = find_name_problem(name)
    if problem is not None:
        return problem
    if (version is None) == (label is None):
        return "give exactly one of a version and the latest label"
    if label is not None and label != "latest":
        return f"unknown label {label!r}; only @latest is supported"
    return None if version is None else find_version_problem(version)


def _find_datastore_path_problem(datastore: str, path: str) -> str | None:
    problem = find_name_problem(datastore)
    if problem is not None:
        return problem.replace("the name", "the datastore name", 1)
    return find_path_problem(path)


def _find_url_problem(scheme: str, url: str) -> str | None:
    if scheme not in URL_SCHEMES:
        return f"unsupported URL scheme {scheme!r}; expected one of {', '.join(URL_SCHEMES)}"
    if not url.startswith(f"{scheme}://"):
        return f"{scheme} URLs start with {scheme}://"
    if not url.isprintable() or any(c.isspace() for c in url):
        return "a URL cannot contain spaces or non-printable characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"the URL cannot be read: {exc}"
    if not parts.netloc:
        what = "host" if scheme == "https" else "bucket or container"
        return f"the URL names no {what}"
    if "@" in parts.netloc and scheme not in ("az", "abfs", "abfss"):
        return "credentials in URLs are not accepted; register a datastore instead"
    if scheme == "https" and (not parts.hostname or port == 0):
        return "the URL names no host"
    return None


def _find_local_path_problem(path: str) -> str | None:
    if not path:
        return "the local path is empty"
    if not path.isprintable():
        return "the local path contains a control or non-printable character"
    if path != path.strip():
        return "the local path starts or ends with a space"
    if not _looks_local(path) and _SCHEME.match(path) is not None:
        return "it looks like a reference with a scheme, not a local path; write ./" + path
    return None


def _draft_asset(reference: AssetReference) -> str:
    if reference.version is not None:
        return f"{reference.kind}:{reference.name}:{reference.version}"
    return f"{reference.kind}:{reference.name}@{reference.label}"


def _format_datastore_path(reference: DatastorePathReference) -> str:
    return f"wharf://datastores/{reference.datastore}/paths/{reference.path}"

"""The CLI and SDK config file: ``$WHARF_CONFIG_DIR/config.toml`` (server URL, token, workspace)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from wharf.sdk._errors import ConfigError

DEFAULT_WORKSPACE = "default"


def config_path() -> Path:
    """Where the config file lives: ``$WHARF_CONFIG_DIR/config.toml``, else ``~/.config/wharf``."""
    base = os.environ.get("WHARF_CONFIG_DIR")
    return (Path(base) if base else Path.home() / ".config" / "wharf") / "config.toml"


@dataclass(frozen=True)
class ClientConfig:
    """Where the server is, who we are, and which workspace commands act on."""

    url: str | None = None
    token: str | None = None
    workspace: str = DEFAULT_WORKSPACE
    ca_cert: str | None = None
    """A PEM file of the CA to trust for an https server (a ``wharf up --tls self-signed``
    one); unset means the system's trusted CAs."""

    def __repr__(self) -> str:  # never show the token
        return (
            f"ClientConfig(url={self.url!r}, workspace={self.workspace!r}, "
            f"ca_cert={self.ca_cert!r}, token=<hidden>)"
        )


def read_config(path: Path | None = None, *, use_env: bool = True) -> ClientConfig:
    """The file's settings, overridden by ``WHARF_URL``, ``WHARF_TOKEN``, ``WHARF_WORKSPACE``,
    ``WHARF_CA_CERT``."""
    path = path or config_path()
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the Wharf config file {path}: {exc}") from exc
    url = values.get("url")
    token = values.get("token")
    workspace = values.get("workspace") or DEFAULT_WORKSPACE
    ca_cert = values.get("ca_cert")
    if use_env:
        ca_cert = os.environ.get("WHARF_CA_CERT") or ca_cert
        url = os.environ.get("WHARF_URL") or url
        token = os.environ.get("WHARF_TOKEN") or token
        workspace = os.environ.get("WHARF_WORKSPACE") or workspace
    return ClientConfig(
        url=str(url) if url else None,
        token=str(token) if token else None,
        workspace=str(workspace),
        ca_cert=str(ca_cert) if ca_cert else None,
    )


def write_config(config: ClientConfig, path: Path | None = None) -> Path:
    """Write the file with mode 0600 (it holds a token), replacing it atomically."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {k: v for k, v in vars(config).items() if v is not None}
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        tomli_w.dump(data, handle)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path

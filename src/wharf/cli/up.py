"""``wharf up``: the whole platform in one process, with the CLI configured to use it."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from wharf.cli._output import console
from wharf.sdk import ClientConfig, read_config, write_config

if TYPE_CHECKING:
    from wharf.config import Settings


class LogFormatOption(StrEnum):
    text = "text"
    json = "json"


def up(
    host: Annotated[str | None, typer.Option(help="interface to listen on [127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on [8080]")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="where state lives [~/.local/share/wharf]")
    ] = None,
    log_format: Annotated[
        LogFormatOption | None,
        typer.Option(help="log lines as text or as one JSON object each [text]"),
    ] = None,
) -> None:
    """Start Wharf: API, runners and app routes, embedded (SQLite and a local datastore by
    default). Flags override WHARF_* environment variables. Ctrl-C stops it cleanly."""
    # The server stack is imported here, not at the top: every other command stays quick.
    import uvicorn

    from wharf.api import create_app
    from wharf.config import Settings
    from wharf.logconfig import configure_logging
    from wharf.services.ports import check_port_free

    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "log_format": None if log_format is None else log_format.value,
    }
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    check_port_free(settings.host, settings.port)
    config_note = _prepare(settings)
    _announce(settings, config_note)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # configure_logging did it: one format for every line
        access_log=False,  # Wharf writes its own (wharf.access), with request ids
        timeout_graceful_shutdown=10,
        # llhttp, strict (docs/runtime.md); WebSockets for app routes, bounded as they are.
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=settings.route_websocket_max_message_bytes,
    )


def _announce(settings: Settings, config_note: str) -> None:
    """Where the server is: for a person on a terminal, or one JSON line for a collector."""
    url = settings.effective_public_url
    if settings.log_format == "json":
        fields = {"url": url, "data_dir": str(settings.data_dir), "cli": config_note}
        logging.getLogger("wharf.up").info("Wharf is starting at %s", url, extra=fields)
        return
    console.print(f"[bold]Wharf[/bold] is starting at [link={url}]{url}[/link]", highlight=False)
    console.print(f"  API docs  {url}/api/v1/docs", highlight=False)
    console.print(f"  data      {settings.data_dir}", highlight=False)
    console.print(f"  CLI       {config_note}", highlight=False)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "0.0.0.0", "::") or host.startswith("127.") or host == "::1"  # noqa: S104


def _prepare(settings: Settings) -> str:
    """Migrate, bootstrap, and leave the CLI config pointing at this server with a working
    admin token. Returns a line that says what was done to the config."""
    from wharf.services import bootstrap, tokens
    from wharf.services.platform import start_platform

    platform = start_platform(settings)
    path = settings.config_dir / "config.toml"
    url = settings.effective_public_url
    try:
        current = read_config(path, use_env=False)
        if current.url not in (None, url) and not _is_loopback(current.url):
            # The user logged in to another server on purpose: do not take the CLI away.
            return f"config {path} points at {current.url}; left as is ('wharf login' switches)"
        with platform.transaction() as session:
            if current.token and tokens.is_token_valid(session, current.token):
                token, user = current.token, tokens.authenticate(session, current.token).user_name
            else:
                token, user = bootstrap.issue_admin_token(session), bootstrap.ADMIN_USER
        write_config(ClientConfig(url=url, token=token, workspace=current.workspace), path)
        return f"configured in {path} as {user}"
    finally:
        platform.close()

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
    from wharf.sandbox import Sandbox
    from wharf.services.tls import TlsFiles


class LogFormatOption(StrEnum):
    text = "text"
    json = "json"


class TlsOption(StrEnum):
    off = "off"
    self_signed = "self-signed"


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
    tls: Annotated[
        TlsOption | None,
        typer.Option(
            help="serve HTTPS with a certificate Wharf makes for itself (self-signed) [off]"
        ),
    ] = None,
    tls_port: Annotated[int | None, typer.Option(help="HTTPS port [port + 363]")] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="also set up a sample app, data asset, batch endpoint and job (once: a "
            "second run reuses them), then print where to look",
        ),
    ] = False,
) -> None:
    """Start Wharf: API, runners and app routes, embedded (SQLite and a local datastore by
    default). Flags override WHARF_* environment variables. Ctrl-C stops it cleanly."""
    # The server stack is imported here, not at the top: every other command stays quick.
    from pydantic import ValidationError

    from wharf.cli._output import print_error
    from wharf.cli.up_demo import FIRST_START_HINT, run_demo
    from wharf.cli.up_servers import serve
    from wharf.config import Settings
    from wharf.errors import Invalid
    from wharf.logconfig import configure_logging
    from wharf.services.platform import find_sandbox, restrict_file_modes
    from wharf.services.ports import check_port_free

    # Before anything is created: the data dir, its database, logs, environments and every
    # datastore file are the server's own (0600/0700).
    restrict_file_modes()
    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "log_format": None if log_format is None else log_format.value,
        "tls": None if tls is None else tls.value,
        "tls_port": tls_port,
    }
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:  # a contradiction among the TLS settings, a bad value
        print_error("; ".join(_setting_error(error) for error in exc.errors()))
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    check_port_free(settings.host, settings.port)
    if settings.serves_tls:
        check_port_free(settings.host, settings.effective_tls_port)
    try:
        tls_files = _tls_files(settings)
    except Invalid as exc:
        print_error(str(exc))
        raise typer.Exit(2) from None
    sandbox = find_sandbox(settings)  # refuses a server beyond loopback without one
    first_start = not settings.data_dir.exists() or not any(settings.data_dir.iterdir())
    config_note = _prepare(settings, None if tls_files is None else tls_files.ca)
    _announce(settings, config_note, sandbox)
    if first_start and not demo and settings.log_format == "text":
        console.print(FIRST_START_HINT, highlight=False)
    serve(settings, tls_files, on_ready=run_demo if demo else None)


def _setting_error(error: Any) -> str:
    """One settings error in plain words, naming its variable when it has one."""
    message = str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in error.get("loc", ()))
    return f"WHARF_{field.upper()}: {message}" if field else message


def _tls_files(settings: Settings) -> TlsFiles | None:
    """The certificate to serve HTTPS with, when the server serves it."""
    from wharf.services.tls import check_given, ensure_self_signed

    if settings.tls_cert is not None and settings.tls_key is not None:
        return check_given(settings.tls_cert, settings.tls_key)
    if settings.tls == "self-signed":
        return ensure_self_signed(settings.data_dir / "tls", settings.apps_domain)
    return None


def _announce(settings: Settings, config_note: str, sandbox: Sandbox) -> None:
    """Where the server is: for a person on a terminal, or one JSON line for a collector."""
    url = settings.effective_public_url
    if settings.log_format == "json":
        fields = {"url": url, "data_dir": str(settings.data_dir), "cli": config_note}
        logging.getLogger("wharf.up").info("Wharf is starting at %s", url, extra=fields)
        return  # without a sandbox, the platform's own warning says so in the log
    console.print(f"[bold]Wharf[/bold] is starting at [link={url}]{url}[/link]", highlight=False)
    console.print(f"  API docs  {url}/api/v1/docs", highlight=False)
    if settings.serves_tls:
        console.print(
            f"  HTTPS     port {settings.effective_tls_port}; plain HTTP {settings.plain_url}",
            highlight=False,
        )
    console.print(f"  data      {settings.data_dir}", highlight=False)
    console.print(f"  CLI       {config_note}", highlight=False)
    if sandbox.active:
        console.print(f"  sandbox   {sandbox.detail}", highlight=False)
    else:
        console.print(
            f"[bold red]WARNING[/bold red] no sandbox for user code: {sandbox.detail}",
            highlight=False,
        )


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "0.0.0.0", "::") or host.startswith("127.") or host == "::1"  # noqa: S104


def _prepare(settings: Settings, ca_cert: Path | None = None) -> str:
    """Migrate, bootstrap, and leave the CLI config pointing at this server with a working
    admin token (and the CA that signed a self-signed certificate, so https is trusted at once).
    Returns a line that says what was done to the config."""
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
        ca = str(ca_cert) if ca_cert is not None else None
        config = ClientConfig(url=url, token=token, workspace=current.workspace, ca_cert=ca)
        write_config(config, path)
        return f"configured in {path} as {user}"
    finally:
        platform.close()

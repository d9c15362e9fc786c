"""``wharf login``: point the CLI at a server with a token, and remember it."""

from __future__ import annotations

from typing import Annotated

import typer

from wharf.cli._output import asked_ca_cert, print_success
from wharf.sdk import Client, ClientConfig, read_config, write_config


def login(
    url: Annotated[
        str | None, typer.Option(help="server URL (default: the configured one)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="WHARF_TOKEN",
            help="API token (default: asked for, hidden; or WHARF_TOKEN)",
        ),
    ] = None,
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="workspace to act on by default")
    ] = None,
) -> None:
    """Check a token against a server and save both in the CLI config (mode 0600)."""
    current = read_config(use_env=False)
    url = url or current.url
    if not url:
        url = typer.prompt("Server URL", default="http://127.0.0.1:8080")
    if not token:
        token = typer.prompt("Token", hide_input=True)
    workspace = workspace or current.workspace
    ca = asked_ca_cert()
    ca_cert = str(ca.resolve()) if ca is not None else current.ca_cert
    with Client(url, token=token, workspace=workspace, ca_cert=ca_cert) as client:
        me = client.users.me()
        client.workspaces.get(workspace)
    config = ClientConfig(url=url, token=token, workspace=workspace, ca_cert=ca_cert)
    path = write_config(config)
    print_success(f"logged in to {url} as {me.name} (workspace {workspace}); saved to {path}")

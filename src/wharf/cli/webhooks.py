"""``wharf app webhook``: the URLs git hosts call, their secrets, and what each call did."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    open_client,
    print_success,
)

webhook_app = typer.Typer(
    help="Webhooks of an app: show the URLs, rotate the secret, signing, deliveries.",
    no_args_is_help=True,
)

DELIVERY_COLUMNS = [
    ("RECEIVED", lambda d: d.received_at.strftime("%Y-%m-%d %H:%M:%S")),
    ("PROVIDER", lambda d: d.provider),
    ("EVENT", lambda d: d.event or "-"),
    ("RESULT", lambda d: d.result),
    ("BUILD", lambda d: f"#{d.build}" if d.build else "-"),
    ("COMMIT", lambda d: (d.commit_sha or "")[:12] or "-"),
    ("DETAIL", lambda d: d.detail),
]


@webhook_app.command("show")
def show(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Print APP's webhook URL for each git host, secret included: paste the one for your
    host into its webhook settings (content type application/json)."""
    with open_client(workspace) as client:
        found = client.apps.webhook_urls(app_name)
    if output is OutputFormat.json:
        emit(found, output, [])
        return
    _print_urls(found.urls)
    signing = "required" if found.signing_secret_set else "not required (no signing secret)"
    typer.echo(f"signatures: {signing}")


def _print_urls(urls: dict[str, str]) -> None:
    # Plain lines, never a table: a wrapped or cut URL cannot be pasted.
    for provider, url in urls.items():
        typer.echo(f"{provider:<10} {url}")


@webhook_app.command("rotate")
def rotate(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Give APP's webhooks a new secret; the old URLs stop working at once."""
    with open_client(workspace) as client:
        found = client.apps.rotate_webhook_secret(app_name)
    if output is OutputFormat.json:
        emit(found, output, [])
        return
    print_success(f"new webhook secret for {app_name}: update the URL at your git host")
    _print_urls(found.urls)


@webhook_app.command("signing-secret")
def signing_secret(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    generate: Annotated[bool, typer.Option(help="make one and print it, once")] = False,
    value_stdin: Annotated[
        bool, typer.Option("--value-stdin", help="read the secret from standard input")
    ] = False,
    clear: Annotated[bool, typer.Option(help="stop requiring signatures")] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Require deliveries signed with a secret (GitHub/Bitbucket X-Hub-Signature, GitLab
    X-Gitlab-Token, Gitea X-Gitea-Signature). Give the same secret to your git host."""
    chosen = sum((generate, value_stdin, clear))
    if chosen != 1:
        raise typer.BadParameter("give exactly one of --generate, --value-stdin, --clear")
    value = sys.stdin.read().strip() if value_stdin else None
    if value_stdin and not value:
        raise typer.BadParameter("standard input was empty", param_hint="--value-stdin")
    with open_client(workspace) as client:
        result = client.apps.set_webhook_signing_secret(app_name, value, generate=generate)
    if output is OutputFormat.json:
        emit(result, output, [])
    elif result.generated:
        print_success(f"signing secret for {app_name} (shown once; give it to your git host):")
        typer.echo(result.generated)
    elif clear:
        print_success(f"{app_name}'s webhooks no longer require signatures")
    else:
        print_success(f"{app_name}'s webhooks now require signed deliveries")


@webhook_app.command("deliveries")
def deliveries(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List APP's latest webhook calls and what each did (queued, skipped, rejected...)."""
    with open_client(workspace) as client:
        emit(client.apps.webhook_deliveries(app_name, limit=limit), output, DELIVERY_COLUMNS)

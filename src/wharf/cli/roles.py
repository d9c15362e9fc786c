"""``wharf role`` and ``wharf member``: roles of a workspace and who holds them."""

from __future__ import annotations

from typing import Annotated

import typer

from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    emit_or_confirm,
    open_client,
    print_success,
)

role_app = typer.Typer(help="Roles of a workspace: assign, list, create.", no_args_is_help=True)
member_app = typer.Typer(help="Members of a workspace.", no_args_is_help=True)

ROLE_COLUMNS = [
    ("NAME", lambda r: r.name),
    ("BUILT IN", lambda r: r.builtin),
    ("PERMISSIONS", lambda r: r.permissions),
    ("DESCRIPTION", lambda r: r.description),
]
MEMBER_COLUMNS = [
    ("USER", lambda m: m.user),
    ("ROLE", lambda m: m.role),
    ("SINCE", lambda m: m.created_at),
]


@role_app.command("assign")
def assign(
    user: str,
    role: str,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Give USER the ROLE in a workspace (replacing the role they held there)."""
    with open_client(workspace) as client:
        member = client.members.assign(user, role)
        where = client.workspace
    emit_or_confirm(
        member, output, MEMBER_COLUMNS, f"{member.user} is now {member.role} in workspace {where}"
    )


@role_app.command("list")
def list_roles(
    workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """List built-in and custom roles with their permissions."""
    with open_client(workspace) as client:
        emit(client.roles.list(), output, ROLE_COLUMNS)


@role_app.command("create")
def create(
    name: str,
    permission: Annotated[
        list[str],
        typer.Option("--permission", "-p", help="a permission or pattern (apps/*, */read); repeat"),
    ],
    description: Annotated[str, typer.Option(help="what the role is for")] = "",
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a custom role from permissions ('wharf role permissions' lists them)."""
    with open_client(workspace) as client:
        role = client.roles.create(name, permission, description=description)
    emit_or_confirm(
        role, output, ROLE_COLUMNS, f"role {role.name} created: {', '.join(role.permissions)}"
    )


@role_app.command("delete")
def delete(name: str, workspace: WorkspaceOption = None) -> None:
    """Delete a custom role that nobody holds."""
    with open_client(workspace) as client:
        client.roles.delete(name)
    print_success(f"role {name} deleted")


@role_app.command("permissions")
def list_permissions(
    workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """List every permission a role can grant."""
    with open_client(workspace) as client:
        found = client.roles.permissions()
    emit(found, output, [("PERMISSION", lambda p: p.name), ("ALLOWS", lambda p: p.description)])


@member_app.command("list")
def list_members(
    workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """List the members of a workspace and their roles."""
    with open_client(workspace) as client:
        emit(client.members.list(), output, MEMBER_COLUMNS)


@member_app.command("remove")
def remove(user: str, workspace: WorkspaceOption = None) -> None:
    """Take USER out of a workspace."""
    with open_client(workspace) as client:
        client.members.remove(user)
        where = client.workspace
    print_success(f"{user} removed from workspace {where}")

"""API overhead: the cost of token authentication and a role check, side by side with health.

Starts a real ``wharf up`` (SQLite, a temporary data dir), then drives, in one run:
``GET /api/v1/health`` (no auth), ``GET /api/v1/users/me`` (token only) and
``GET /api/v1/workspaces/default/members`` (token + role check + a query).
"""

from __future__ import annotations

from bench.load import print_table, run_load
from bench.server import running_wharf

TOTAL = 2000
CONCURRENCY = 16


def main() -> None:
    with running_wharf() as server:
        base = f"{server.url}/api/v1"
        auth = {"headers": {"Authorization": f"Bearer {server.token}"}}
        health = run_load(
            "health (no auth)", "GET", f"{base}/health", total=TOTAL, concurrency=CONCURRENCY
        )
        me = run_load(
            "users/me (token)",
            "GET",
            f"{base}/users/me",
            total=TOTAL,
            concurrency=CONCURRENCY,
            **auth,
        )
        members = run_load(
            "members (token + role check)",
            "GET",
            f"{base}/workspaces/default/members",
            total=TOTAL,
            concurrency=CONCURRENCY,
            **auth,
        )
    print(f"{TOTAL} requests each, {CONCURRENCY} concurrent clients, one server process")
    print_table([health, me, members], baseline=health)


if __name__ == "__main__":
    main()

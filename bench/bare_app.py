"""A bare FastAPI app with Wharf's health route, served as ``wharf up`` serves Wharf.

The API bench runs it next to a real ``wharf up``: the same route (a ``SELECT 1`` on a SQLite
store with Wharf's pragmas, the same JSON body) under the same uvicorn settings, so the ratio
between the two is what Wharf's own layers cost.

    python -m bench.bare_app PORT DATABASE_FILE
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from wharf.store.database import create_store_engine


def create_bare_app(database: str) -> FastAPI:
    app = FastAPI()
    engine = create_store_engine(f"sqlite:///{database}")

    @app.get("/api/v1/health")
    def read_health() -> JSONResponse:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "version": "0", "database": "ok"})

    return app


if __name__ == "__main__":
    port, database = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        create_bare_app(database),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )

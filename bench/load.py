"""A bounded HTTP load generator for benchmarks: N concurrent clients, a fixed request count."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class LoadResult:
    name: str
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


async def _drive(
    name: str, method: str, url: str, total: int, concurrency: int, **request: Any
) -> LoadResult:
    latencies: list[float] = []
    failures = 0
    remaining = total
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    response = await client.request(method, url, **request)
                    if response.status_code >= 400:
                        failures += 1
                except httpx.HTTPError:
                    failures += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(name, total, failures, elapsed, latencies)


def run_load(
    name: str, method: str, url: str, *, total: int, concurrency: int, **request: Any
) -> LoadResult:
    """Send ``total`` requests with ``concurrency`` clients; warm up first."""
    asyncio.run(_drive(name, method, url, min(50, total), concurrency, **request))
    return asyncio.run(_drive(name, method, url, total, concurrency, **request))


def print_table(results: list[LoadResult], baseline: LoadResult | None = None) -> None:
    print(f"{'case':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'fail':>6}{'vs base':>9}")
    for r in results:
        ratio = f"{r.rps / baseline.rps:.2f}x" if baseline else ""
        print(
            f"{r.name:<34}{r.rps:>9.0f}{r.p50:>9.2f}{r.percentile(99):>9.2f}"
            f"{r.failures:>6}{ratio:>9}"
        )

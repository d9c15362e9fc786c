"""Prometheus metrics: every family Wharf exports, on a registry owned by one server.

Two kinds of family. Events (requests, finished builds, finished mini-batches) are counted as
they happen, by whoever sees them: the API middleware, the route proxy, the build runner, the
job state store. States (builds by phase, jobs by state, queue depths, replicas ready and
desired) are read when Prometheus scrapes, from a :class:`PlatformState` reader the server
installs; nothing has to keep them in step.

The registry is not the process-wide default, so that several in-process servers (tests)
never collide. Labels are bounded: route templates rather than raw paths, app names rather than
URLs, phases and states from fixed lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

logger = logging.getLogger("wharf.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The Prometheus text exposition format."""

_BUILD_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
_MINI_BATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclass(frozen=True)
class AppReplicas:
    """One app's serving replicas, as the runtime sees them now."""

    workspace: str
    app: str
    ready: int
    desired: int
    restarts: int


@dataclass(frozen=True)
class PlatformState:
    """What the store and the runtime hold at the moment of a scrape."""

    builds_by_phase: dict[str, int] = field(default_factory=dict)
    jobs_by_state: dict[str, int] = field(default_factory=dict)
    build_queue: int = 0
    job_queue: int = 0
    apps: list[AppReplicas] = field(default_factory=list)


StateReader = Callable[[], PlatformState]


class _StateCollector(Collector):
    def __init__(self, read: StateReader) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        try:
            state = self._read()
        except Exception:  # a scrape must still answer with the event families
            logger.exception("could not read the platform's state for /metrics")
            return
        builds = GaugeMetricFamily(
            "wharf_builds", "Builds in the store, by phase.", labels=["phase"]
        )
        for phase, count in sorted(state.builds_by_phase.items()):
            builds.add_metric([phase], count)
        jobs = GaugeMetricFamily(
            "wharf_jobs", "Batch jobs in the store, by state.", labels=["state"]
        )
        for status, count in sorted(state.jobs_by_state.items()):
            jobs.add_metric([status], count)
        yield builds
        yield jobs
        yield GaugeMetricFamily(
            "wharf_build_queue_depth",
            "Builds waiting for the build runner (Pending).",
            value=state.build_queue,
        )
        yield GaugeMetricFamily(
            "wharf_job_queue_depth",
            "Batch jobs waiting for the job runner (Queued).",
            value=state.job_queue,
        )
        app_labels = ["workspace", "app"]
        ready = GaugeMetricFamily(
            "wharf_app_replicas_ready", "Replicas of the app that answer HTTP.", labels=app_labels
        )
        desired = GaugeMetricFamily(
            "wharf_app_replicas_desired", "Replicas the app should have.", labels=app_labels
        )
        restarts = CounterMetricFamily(
            "wharf_app_replica_restarts",
            "Restarts of the replicas of the app's serving revision (starts again from 0 "
            "when a new revision serves).",
            labels=app_labels,
        )
        for app in state.apps:
            labels = [app.workspace, app.app]
            ready.add_metric(labels, app.ready)
            desired.add_metric(labels, app.desired)
            restarts.add_metric(labels, app.restarts)
        yield ready
        yield desired
        yield restarts


class Metrics:
    """The families of one server. Creating it starts nothing (``create_app`` may)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self._state: _StateCollector | None = None
        self.api_requests = Counter(
            "wharf_api_requests",
            "API requests answered, by route template, method and status code.",
            ["route", "method", "code"],
            registry=registry,
        )
        self.api_latency = Histogram(
            "wharf_api_request_duration_seconds",
            "Time to answer an API request (to the end of its body), by route template.",
            ["route", "method"],
            registry=registry,
        )
        app_labels = ["workspace", "app"]
        self.route_requests = Counter(
            "wharf_route_requests",
            "Requests through app routes, by app and status code.",
            [*app_labels, "code"],
            registry=registry,
        )
        self.route_latency = Histogram(
            "wharf_route_request_duration_seconds",
            "Time to answer a request through an app route, by app.",
            app_labels,
            registry=registry,
        )
        self.route_in_flight = Gauge(
            "wharf_route_requests_in_flight",
            "Requests through app routes being answered now, by app.",
            app_labels,
            registry=registry,
        )
        self.route_upstream_errors = Counter(
            "wharf_route_upstream_errors",
            "Requests through app routes that no replica answered (bad-gateway, "
            "no-ready-replica, timeout), by app and reason.",
            [*app_labels, "reason"],
            registry=registry,
        )
        self.build_duration = Histogram(
            "wharf_build_duration_seconds",
            "Time from a build's start to its end, by the phase it ended in.",
            ["phase"],
            buckets=_BUILD_BUCKETS,
            registry=registry,
        )
        self.mini_batches = Counter(
            "wharf_mini_batches",
            "Mini-batch attempts finished: done, failed for good, or failed and retried.",
            ["result"],
            registry=registry,
        )
        self.mini_batch_duration = Histogram(
            "wharf_mini_batch_duration_seconds",
            "Time from sending a mini-batch to a worker to its result, by result.",
            ["result"],
            buckets=_MINI_BATCH_BUCKETS,
            registry=registry,
        )

    # -- what the parts of the server call ------------------------------------------------

    def observe_api_request(self, route: str, method: str, code: int, seconds: float) -> None:
        self.api_requests.labels(route, method, str(code)).inc()
        self.api_latency.labels(route, method).observe(seconds)

    def route_request_started(self, workspace: str, app: str) -> None:
        self.route_in_flight.labels(workspace, app).inc()

    def route_request_finished(
        self, workspace: str, app: str, code: int, seconds: float, upstream_error: str | None
    ) -> None:
        self.route_in_flight.labels(workspace, app).dec()
        self.route_requests.labels(workspace, app, str(code)).inc()
        self.route_latency.labels(workspace, app).observe(seconds)
        if upstream_error is not None:
            self.route_upstream_errors.labels(workspace, app, upstream_error).inc()

    def observe_build(self, phase: str, seconds: float) -> None:
        self.build_duration.labels(phase).observe(seconds)

    def observe_mini_batch(self, result: str, seconds: float | None) -> None:
        self.mini_batches.labels(result).inc()
        if seconds is not None:
            self.mini_batch_duration.labels(result).observe(seconds)

    # -- scrapes --------------------------------------------------------------------------

    def watch_state(self, read: StateReader) -> None:
        """Report what ``read`` returns at every scrape (replaces an earlier reader)."""
        self.unwatch_state()
        self._state = _StateCollector(read)
        self.registry.register(self._state)

    def unwatch_state(self) -> None:
        if self._state is not None:
            self.registry.unregister(self._state)
            self._state = None

    def render(self) -> bytes:
        """Every family in the Prometheus text format. Reads the store: not on the loop."""
        return generate_latest(self.registry)

"""The app runtime registry: which revision serves each app, its routes, and rolling switches.

``deploy`` blocks while a new revision starts (up to its ready timeout) and while the old one
drains: call it from a worker thread, never on the event loop. ``resolve`` is what the proxy
calls for every request; it takes no lock and does no I/O.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from wharf.errors import Conflict, Invalid
from wharf.logfiles import LogRotation
from wharf.runtime.limits import LimitSupport, detect_limit_support, prepare_limit_support
from wharf.runtime.replicas import ReplicaSet, ReplicaSetStatus
from wharf.runtime.routes import (
    PATH_ROUTE_ROOT,
    AppKey,
    AppTarget,
    RouteMatch,
    RouteOptions,
    is_under,
    normalise_route,
    strip_port,
)
from wharf.runtime.specs import Endpoint, RevisionSpec

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class RolloutResult:
    succeeded: bool
    revision: str
    """The revision that was rolled out (or tried)."""
    serving: str | None
    """The revision that serves now: the new one, or the previous one after a failure."""
    previous: str | None
    reason: str | None
    """``ReadinessTimeout`` or ``Stopped`` when the rollout failed."""
    message: str
    seconds: float


@dataclass(frozen=True)
class AppStatus:
    app: AppKey
    serving: ReplicaSetStatus | None
    rolling_out: ReplicaSetStatus | None
    last_rollout: RolloutResult | None
    hostnames: tuple[str, ...]
    path_prefix: str | None
    """``/apps/{ws}/{app}``, or None when the app has no route."""


@dataclass
class _App:
    target: AppTarget
    route: RouteOptions | None = field(default_factory=RouteOptions)
    rollout_lock: threading.Lock = field(default_factory=threading.Lock)
    rolling_out: ReplicaSet | None = None
    draining: ReplicaSet | None = None
    last_rollout: RolloutResult | None = None


class AppRegistry:
    """Every app's serving revision and routes in this server. Side-effect free until used:
    ``start`` (or the first ``deploy``) prepares limits; ``close`` stops every replica."""

    def __init__(
        self,
        *,
        apps_domain: str,
        logs_dir: Path,
        limit_support: LimitSupport | None = None,
        log_rotation: LogRotation | None = None,
    ) -> None:
        self.apps_domain = apps_domain.strip(".").lower()
        self._logs_dir = logs_dir
        self._log_rotation = log_rotation
        self._support = limit_support
        self._lock = threading.Lock()
        self._apps: dict[AppKey, _App] = {}
        self._hosts: dict[str, AppKey] = {}
        self._closed = False
        self._gone_listeners: tuple[Callable[[Endpoint], None], ...] = ()

    # -- setup -----------------------------------------------------------------------------

    def start(self) -> LimitSupport:
        """Find (and prepare) what limits this machine can enforce; idempotent."""
        with self._lock:
            if self._support is None:
                self._support = detect_limit_support()
            if not self._support.prepared:
                self._support = prepare_limit_support(self._support)
            return self._support

    @property
    def limit_support(self) -> LimitSupport:
        return self.start()

    def on_endpoint_gone(self, listener: Callable[[Endpoint], None]) -> None:
        """Call ``listener(endpoint)`` whenever a replica's process ends (from the replica's
        supervising thread, at once): the proxy drops its pooled connections to it."""
        with self._lock:
            self._gone_listeners = (*self._gone_listeners, listener)

    def _endpoint_gone(self, endpoint: Endpoint) -> None:
        for listener in self._gone_listeners:
            listener(endpoint)

    # -- routes ----------------------------------------------------------------------------

    def generated_hostname(self, key: AppKey) -> str:
        return f"{key.app}-{key.workspace}.{self.apps_domain}".lower()

    def set_route(self, key: AppKey, route: RouteOptions | None) -> None:
        """Expose the app on its hostnames and path route, or (``None``) on none of them.

        Raises ``Invalid`` for a bad hostname or path, ``Conflict`` for a hostname in use."""
        if route is not None:
            route = normalise_route(route)
        with self._lock:
            app = self._apps.get(key) or _App(AppTarget(key))
            wanted = [] if route is None else self._hostnames_for(key, route)
            for hostname in wanted:
                owner = self._hosts.get(hostname)
                if owner is not None and owner != key:
                    raise Conflict(f"hostname {hostname} is already routed to app {owner}")
            app.route = route
            self._apps = {**self._apps, key: app}
            self._rebuild_hosts()

    def _hostnames_for(self, key: AppKey, route: RouteOptions) -> list[str]:
        if not route.path_route and route.hostname:  # a workbench: its own name alone
            return [route.hostname]
        names = [self.generated_hostname(key)]
        if route.hostname and route.hostname not in names:
            names.append(route.hostname)
        return names

    def _rebuild_hosts(self) -> None:
        hosts: dict[str, AppKey] = {}
        for key, app in sorted(self._apps.items()):
            if app.route is not None:
                for hostname in self._hostnames_for(key, app.route):
                    hosts.setdefault(hostname, key)
        self._hosts = hosts  # replaced whole: ``resolve`` reads it without a lock

    def resolve(self, host: str, path: str) -> RouteMatch | None:
        """The app a request is for, ``None`` when it is not for an app at all."""
        hostname = strip_port(host).lower()
        key = self._hosts.get(hostname)
        if key is not None:
            app = self._apps.get(key)
            if app is None or app.route is None or not is_under(path, app.route.path):
                return RouteMatch(f"{hostname}{path}", None, "")
            strip = app.route.path != "/" and app.route.path_mode == "strip"
            prefix = app.route.path if strip else ""
            route = app.route
            return RouteMatch(str(key), app.target, prefix, route.insecure_policy, route.gate)
        if hostname.endswith("." + self.apps_domain):
            return RouteMatch(hostname, None, "")
        if path == PATH_ROUTE_ROOT or path.startswith(PATH_ROUTE_ROOT + "/"):
            parts = path.split("/", 5)
            if len(parts) < 4 or not parts[2] or not parts[3]:
                return RouteMatch(path, None, "")
            key = AppKey(parts[2], parts[3])
            app = self._apps.get(key)
            prefix = f"{PATH_ROUTE_ROOT}/{key.workspace}/{key.app}"
            if app is None or app.route is None or not app.route.path_route:
                return RouteMatch(str(key), None, prefix)
            return RouteMatch(str(key), app.target, prefix, app.route.insecure_policy)
        return None

    # -- revisions -------------------------------------------------------------------------

    def deploy(
        self,
        key: AppKey,
        spec: RevisionSpec,
        *,
        ready_timeout: float = 120.0,
        drain_timeout: float = 30.0,
        stop_grace: float = 10.0,
        crash_limit: int | None = 3,
    ) -> RolloutResult:
        """Roll ``spec`` out: start its replicas beside the serving ones, switch traffic once
        all answer, let the old set finish its in-flight requests (up to ``drain_timeout``),
        then stop it. A revision not ready within ``ready_timeout`` is stopped and the
        previous one keeps serving; the result says why. So is one whose replica exits
        ``crash_limit`` times before all are ready. Blocks; one rollout per app at once.
        """
        if spec.replicas < 0:
            raise Invalid(f"replicas must be 0 or more, not {spec.replicas}")
        support = self.start()
        with self._lock:
            if self._closed:
                raise Conflict("the runtime is shutting down")
            app = self._apps.get(key)
            if app is None:
                app = _App(AppTarget(key))
                self._apps = {**self._apps, key: app}
                self._rebuild_hosts()
        with app.rollout_lock:
            started = time.monotonic()
            logs = self._logs_dir / "apps" / key.workspace / key.app / _safe(spec.revision)
            new = ReplicaSet(
                name=_safe(f"{key.workspace}-{key.app}-{spec.revision}"),
                spec=spec,
                support=support,
                logs_dir=logs,
                on_exit=self._endpoint_gone,
                log_rotation=self._log_rotation,
            )
            with self._lock:
                if self._closed:
                    raise Conflict("the runtime is shutting down")
                app.rolling_out = new
            new.start()
            ready = new.wait_ready(ready_timeout, crash_limit=crash_limit)
            previous = app.target.current
            previous_name = None if previous is None else previous.revision
            with self._lock:
                if ready and self._closed:
                    ready = False
            if not ready:
                stopped = new.stopping or self._closed
                waited = time.monotonic() - started
                message = (
                    "the runtime is shutting down" if stopped else new.explain_not_ready(waited)
                )
                if previous_name:
                    message += f"; revision {previous_name} keeps serving"
                new.stop(stop_grace)
                result = RolloutResult(
                    succeeded=False,
                    revision=spec.revision,
                    serving=previous_name,
                    previous=previous_name,
                    reason="Stopped" if stopped else "ReadinessTimeout",
                    message=message,
                    seconds=time.monotonic() - started,
                )
            else:
                with app.target.lock:
                    app.target.current = new
                with self._lock:
                    app.rolling_out, app.draining = None, previous
                if previous is not None:
                    previous.wait_idle(drain_timeout)
                    previous.stop(stop_grace)
                switched = f"revision {spec.revision} serves with {len(new.replicas)} replicas"
                if previous_name:
                    switched += f" (was {previous_name})"
                result = RolloutResult(
                    succeeded=True,
                    revision=spec.revision,
                    serving=spec.revision,
                    previous=previous_name,
                    reason=None,
                    message=switched,
                    seconds=time.monotonic() - started,
                )
            with self._lock:
                app.rolling_out = app.draining = None
                app.last_rollout = result
            return result

    def scale(
        self,
        key: AppKey,
        replicas: int,
        *,
        ready_timeout: float = 120.0,
        stop_grace: float = 10.0,
    ) -> tuple[bool, str] | None:
        """Change the serving revision's replica count in place, without a rollout: new
        replicas join once ready, removed ones drain. Waits (up to ``ready_timeout``) for the
        added ones; returns whether all are ready and a sentence on what happened, or None
        when nothing serves (the next rollout starts with the stored count)."""
        if replicas < 0:
            raise Invalid(f"replicas must be 0 or more, not {replicas}")
        app = self._apps.get(key)
        if app is None:
            return None
        with app.rollout_lock:  # never while a rollout swaps the serving set
            current = app.target.current
            if current is None:
                return None
            before = len(current.replicas)
            current.scale(replicas, stop_grace)
            if replicas > before and not current.wait_ready(ready_timeout, crash_limit=3):
                status = current.status()
                return False, (
                    f"scaled {current.revision} from {before} to {replicas} replicas; "
                    f"{status.ready} ready: {status.message or 'still starting'}"
                )
            return True, f"{current.revision} runs {replicas} replicas (was {before})"

    def stop_app(
        self, key: AppKey, *, drain_timeout: float = 10.0, stop_grace: float = 10.0
    ) -> None:
        """Take the app's routes away, let in-flight requests finish, stop its replicas."""
        with self._lock:
            app = self._apps.get(key)
            if app is None:
                return
            self._apps = {k: v for k, v in self._apps.items() if k != key}
            self._rebuild_hosts()
            rolling = app.rolling_out
        if rolling is not None:
            rolling.stop(stop_grace)
        with app.rollout_lock, app.target.lock:
            current, app.target.current = app.target.current, None
        if current is not None:
            current.wait_idle(drain_timeout)
            current.stop(stop_grace)

    def status(self, key: AppKey) -> AppStatus | None:
        app = self._apps.get(key)
        if app is None:
            return None
        current = app.target.current
        rolling = app.rolling_out
        exposed = app.route is not None
        return AppStatus(
            app=key,
            serving=None if current is None else current.status(),
            rolling_out=None if rolling is None else rolling.status(),
            last_rollout=app.last_rollout,
            hostnames=tuple(self._hostnames_for(key, app.route)) if app.route else (),
            path_prefix=(
                f"{PATH_ROUTE_ROOT}/{key.workspace}/{key.app}"
                if exposed and app.route is not None and app.route.path_route
                else None
            ),
        )

    def serving_endpoint(self, key: AppKey) -> Endpoint | None:
        """Where a ready replica of the app's serving revision answers, if one does."""
        app = self._apps.get(key)
        current = None if app is None else app.target.current
        return None if current is None else current.pick_endpoint(avoid=None)

    def list_apps(self) -> list[AppKey]:
        return sorted(self._apps)

    def close(self, grace: float = 10.0) -> None:
        """Stop every replica of every app (in parallel); the registry takes no more deploys."""
        with self._lock:
            self._closed = True
            apps = list(self._apps.values())
            interrupted = [
                replica_set
                for app in apps
                for replica_set in (app.rolling_out, app.draining)
                if replica_set is not None
            ]
        _stop_all(interrupted, grace)
        for app in apps:  # rollouts in progress notice, give up, and let go of their app
            with app.rollout_lock:
                pass
        serving = []
        for app in apps:
            with app.target.lock:
                current, app.target.current = app.target.current, None
            if current is not None:
                serving.append(current)
        _stop_all(serving, grace)
        with self._lock:
            support = self._support
        if support is not None and support.parent is not None and support.prepared:
            support.parent.remove()


def _stop_all(sets: Iterable[ReplicaSet], grace: float) -> None:
    sets = list(sets)
    if not sets:
        return
    with ThreadPoolExecutor(max_workers=len(sets), thread_name_prefix="stop-replicas") as pool:
        list(pool.map(lambda replica_set: replica_set.stop(grace), sets))


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text)

"""Prometheus metrics of one app: requests and latency per endpoint (the route template, so ids do
not blow up the label set), the served model's version, process memory."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import ProcessCollector, disable_created_metrics

disable_created_metrics()  # no *_created series: only what dashboards use

BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter("visrec_requests", "HTTP requests answered", ["endpoint", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("visrec_request_seconds", "Time to answer a request", ["endpoint"],
                                 buckets=BUCKETS, registry=self.registry)
        self.model = Gauge("visrec_model_info", "The served model of each variant (value 1)",
                           ["variant", "name", "version"], registry=self.registry)
        self.items = Gauge("visrec_catalog_items", "Items the served model can recommend", ["variant"],
                           registry=self.registry)
        self._served: dict = {}
        self.reloads = Counter("visrec_model_reloads", "Model reloads", ["outcome"], registry=self.registry)

    def set_model(self, variant: str | None, name: str, version: str, n_items: int):
        """Publish the model now serving ``variant`` ("" outside an experiment)."""
        variant = variant or ""
        old = self._served.get(variant)
        if old is not None and old != (name, version):
            self.model.remove(variant, *old)
        self._served[variant] = (name, version)
        self.model.labels(variant, name, version).set(1)
        self.items.labels(variant).set(n_items)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request by route template."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(endpoint, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)

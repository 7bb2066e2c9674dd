// One provider call as telemetry: a Prometheus sample (ProviderCallMetrics) and an OpenTelemetry
// span (@opentelemetry/api: a no-op unless the host registers an SDK). Both carry the provider,
// the method, the host and path, statuses and waits; never a token, a header, a query or a body.
import { SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { statusClass, type CallOutcome, type ProviderCallMetrics } from "../metrics/provider-call-metrics";

const tracer = trace.getTracer("@tokenvault/token");

export class CallObservation {
  private readonly started = performance.now();
  private readonly span: Span;
  private waitedMs = 0;

  constructor(
    private readonly metrics: ProviderCallMetrics | null,
    private readonly provider: string,
    method: string,
    url: URL,
  ) {
    this.span = tracer.startSpan(`${method} ${provider}`, {
      kind: SpanKind.CLIENT,
      attributes: { "http.request.method": method, "server.address": url.hostname, "url.path": url.pathname, "tokenvault.provider": provider },
    });
  }

  /** A turn under the limits came after `ms`. */
  waited(ms: number, remaining: Record<string, number>, tenant: string): void {
    this.waitedMs += ms;
    this.metrics?.limitWaitSeconds.observe({ provider: this.provider }, ms / 1000);
    if (remaining.day !== undefined) this.metrics?.budgetLeft(this.provider, tenant, remaining.day);
  }

  /** Another attempt follows, and why. */
  retry(reason: "unauthorized" | "rate_limited" | "server_error" | "network", status: number | null): void {
    this.metrics?.attempts.inc({ provider: this.provider, reason });
    this.span.addEvent("retry", { reason, ...(status !== null && { "http.response.status_code": status }) });
  }

  end(outcome: CallOutcome, status: number | null, attempts: number): void {
    this.metrics?.calls.inc({ provider: this.provider, outcome, status_class: statusClass(status) });
    this.metrics?.callSeconds.observe({ provider: this.provider, outcome }, (performance.now() - this.started) / 1000);
    if (status !== null) this.span.setAttribute("http.response.status_code", status);
    this.span.setAttributes({ "tokenvault.outcome": outcome, "tokenvault.attempts": attempts, "tokenvault.limit_wait_ms": Math.round(this.waitedMs) });
    this.span.setStatus(outcome === "success" ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: outcome });
    this.span.end();
  }
}

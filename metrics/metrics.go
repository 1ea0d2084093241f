// Package metrics holds a worker's Prometheus metrics (rounds, activations by platform
// and status, durations, retries, bytes of weights moved) and serves them over HTTP to
// scrapers that present the metrics token. A nil *Metrics records nothing, so code
// that may run without metrics needs no checks.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fedkeeper/fedkeeper/billing"
	"github.com/fedkeeper/fedkeeper/httpauth"
	"github.com/fedkeeper/fedkeeper/loopback"
)

// Metrics are one worker's collectors, in a registry of their own.
type Metrics struct {
	registry          *prometheus.Registry
	rounds            prometheus.Counter
	accuracy          prometheus.Gauge
	loss              prometheus.Gauge
	invocations       *prometheus.CounterVec
	retries           *prometheus.CounterVec
	activations       *prometheus.CounterVec
	activationSeconds *prometheus.HistogramVec
	coldStarts        *prometheus.CounterVec
	aggregateSeconds  prometheus.Histogram
	evaluateSeconds   prometheus.Histogram
	weightBytes       *prometheus.CounterVec
	billUSD           *prometheus.CounterVec
	gbSeconds         *prometheus.CounterVec
	ghzSeconds        *prometheus.CounterVec
}

// New creates the collectors, with the Go runtime's and the process's beside them.
func New() *Metrics {
	durations := []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		rounds: prometheus.NewCounter(prometheus.CounterOpts{Name: "fedkeeper_rounds_total",
			Help: "Rounds whose global model this worker evaluated."}),
		accuracy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fedkeeper_global_accuracy",
			Help: "Test accuracy of the last global model this worker evaluated."}),
		loss: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fedkeeper_global_loss",
			Help: "Test loss of the last global model this worker evaluated."}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_invocations_total",
			Help: "Client function invocations by platform and result (accepted, failed)."}, []string{"platform", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_retries_total",
			Help: "Invocations of a client after its first in the same round."}, []string{"platform"}),
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_activations_total",
			Help: "Finished client activations by platform and status."}, []string{"platform", "status"}),
		activationSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fedkeeper_activation_duration_seconds",
			Help: "Run time of client activations, start to end as the platform reports it.", Buckets: durations}, []string{"platform"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_cold_starts_total",
			Help: "Client activations that started a new container."}, []string{"platform"}),
		aggregateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fedkeeper_aggregation_duration_seconds",
			Help: "Time to aggregate a round's updates into the next global model.", Buckets: durations}),
		evaluateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fedkeeper_evaluation_duration_seconds",
			Help: "Time to evaluate a global model on the test set.", Buckets: durations}),
		weightBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_weight_bytes_total",
			Help: "Bytes of model weights this worker moved: read from or written to the weight store, sent to or received from relayed clients (direction read, write, sent, received)."}, []string{"direction"}),
		billUSD: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_bill_usd_total",
			Help: "What the client activations this worker saw finish cost, in US dollars, priced with the config's price table."}, []string{"platform"}),
		gbSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_billed_gb_seconds_total",
			Help: "GB-seconds billed for the client activations this worker saw finish (billed duration times configured memory)."}, []string{"platform"}),
		ghzSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fedkeeper_billed_ghz_seconds_total",
			Help: "GHz-seconds billed for those activations, on platforms that bill CPU (Cloud Functions)."}, []string{"platform"}),
	}
	m.registry.MustRegister(m.rounds, m.accuracy, m.loss, m.invocations, m.retries, m.activations, m.activationSeconds,
		m.coldStarts, m.aggregateSeconds, m.evaluateSeconds, m.weightBytes, m.billUSD, m.gbSeconds, m.ghzSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Invoked records an invocation of a client's function (attempt counts from 1).
func (m *Metrics) Invoked(platform string, attempt int, err error) {
	if m == nil {
		return
	}
	result := "accepted"
	if err != nil {
		result = "failed"
	}
	m.invocations.WithLabelValues(platform, result).Inc()
	if attempt > 1 {
		m.retries.WithLabelValues(platform).Inc()
	}
}

// Finished records a finished activation.
func (m *Metrics) Finished(platform, status string, seconds float64, cold bool) {
	if m == nil {
		return
	}
	m.activations.WithLabelValues(platform, status).Inc()
	if seconds > 0 {
		m.activationSeconds.WithLabelValues(platform).Observe(seconds)
	}
	if cold {
		m.coldStarts.WithLabelValues(platform).Inc()
	}
}

// Aggregated records an aggregation.
func (m *Metrics) Aggregated(seconds float64) {
	if m == nil {
		return
	}
	m.aggregateSeconds.Observe(seconds)
}

// Evaluated records the evaluation that ends a round.
func (m *Metrics) Evaluated(seconds, accuracy, loss float64) {
	if m == nil {
		return
	}
	m.rounds.Inc()
	m.accuracy.Set(accuracy)
	m.loss.Set(loss)
	m.evaluateSeconds.Observe(seconds)
}

// Weight directions: bytes read from and written to the weight store, and sent to and
// received from relayed clients inside their requests and answers.
const (
	WeightsRead     = "read"
	WeightsWritten  = "write"
	WeightsSent     = "sent"
	WeightsReceived = "received"
)

// WeightBytes counts n bytes of model weights this worker really moved.
func (m *Metrics) WeightBytes(direction string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.weightBytes.WithLabelValues(direction).Add(float64(n))
}

// Handler serves the metrics in Prometheus's text format to requests bearing the token
// ("Authorization: Bearer TOKEN", as Prometheus's scrape config sends it).
func (m *Metrics) Handler(token string) http.Handler {
	return httpauth.Require(token, "fedkeeper metrics", "the metrics want the metrics token as a bearer token",
		promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

// Serve listens on addr (an address in use falls back to a free port on the same
// host) and serves /metrics, and the other routes given (health checks), to requests
// bearing token until ctx ends. It returns the address it listens on.
func (m *Metrics) Serve(ctx context.Context, addr, token string, routes map[string]http.Handler) (string, error) {
	l, err := loopback.ListenOrFallback(addr)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler(token))
	for path, h := range routes {
		mux.Handle(path, httpauth.Require(token, "fedkeeper worker", "the worker's endpoints want the metrics token as a bearer token", h))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(l) }() // ends with ErrServerClosed when ctx ends
	return l.Addr().String(), nil
}

// Billed counts what one finished activation cost.
func (m *Metrics) Billed(platform string, c billing.Charge) {
	if m == nil {
		return
	}
	m.billUSD.WithLabelValues(platform).Add(c.USD)
	m.gbSeconds.WithLabelValues(platform).Add(c.GBSeconds)
	m.ghzSeconds.WithLabelValues(platform).Add(c.GHzSeconds)
}

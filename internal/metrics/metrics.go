// Package metrics holds the Prometheus collectors of one running app. Each app has its own
// registry (no global default registry), so tests can run several apps side by side.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors of the server core. Protocol servers register their own on Reg.
type Metrics struct {
	Reg        *prometheus.Registry
	Listeners  *prometheus.GaugeVec
	Open       *prometheus.GaugeVec
	Accepted   *prometheus.CounterVec
	Refused    *prometheus.CounterVec
	Reloads    *prometheus.CounterVec
	LastReload prometheus.Gauge
}

// New makes the collectors and registers them, with Go runtime and process metrics.
func New() *Metrics {
	m := &Metrics{
		Reg: prometheus.NewRegistry(),
		Listeners: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "courier_listeners", Help: "Listening sockets, by service.",
		}, []string{"service"}),
		Open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "courier_connections_open", Help: "Connections open now, by service.",
		}, []string{"service"}),
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_connections_accepted_total", Help: "Connections accepted, by service.",
		}, []string{"service"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_connections_refused_total", Help: "Connections refused by MAXDAEMONS/MAXPERIP limits, by service and limit (maxdaemons, maxperip).",
		}, []string{"service", "limit"}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "courier_config_reloads_total", Help: "Configuration reloads, by result (ok, failed).",
		}, []string{"result"}),
		LastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "courier_config_last_reload_success_timestamp_seconds", Help: "When the configuration was last loaded successfully.",
		}),
	}
	m.Reg.MustRegister(m.Listeners, m.Open, m.Accepted, m.Refused, m.Reloads, m.LastReload,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ConnOpened implements netx.Observer.
func (m *Metrics) ConnOpened(service string) {
	m.Open.WithLabelValues(service).Inc()
	m.Accepted.WithLabelValues(service).Inc()
}

// ConnClosed implements netx.Observer.
func (m *Metrics) ConnClosed(service string) { m.Open.WithLabelValues(service).Dec() }

// ConnRefused implements netx.Observer.
func (m *Metrics) ConnRefused(service, limit string) { m.Refused.WithLabelValues(service, limit).Inc() }

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Reg, promhttp.HandlerOpts{})
}

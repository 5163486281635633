//! Prometheus metrics through the `prometheus-client` crate, served as `GET /metrics` on an
//! address of their own ([`metrics_app`], `--metrics-listen`), never on the public one.
//!
//! Counted as requests are answered: `p2p_chat_directory_requests_total{route, method,
//! status}` and the histogram `p2p_chat_directory_request_duration_seconds{route}`, where
//! `route` is the route's template (`/clients/{username}`, never a name) or `unmatched`.
//! Read at each scrape: accounts (registered, disabled, online), the mailbox (messages, bytes),
//! signaling connections, relayed sessions (running, started) and bytes, and the
//! password-hashing slots (running, waiting). The format is OpenMetrics text 1.0
//! (<https://prometheus.io/docs/specs/om/open_metrics_spec/>), which Prometheus reads.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::error::ApiError;
use crate::state::AppState;

/// The media type of the answer (OpenMetrics text, version 1.0.0).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets: 1 ms doubling 16 times, to about 33 s (past the request timeout's default).
const LATENCY_BUCKETS: (f64, f64, u16) = (0.001, 2.0, 16);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The directory's metrics: what requests recorded, and the registry that writes them with
/// what is read at each scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    /// What the last scrape read, for the collector that writes it.
    snapshot: Arc<Mutex<Snapshot>>,
    /// One scrape at a time: each reads the snapshot it wrote.
    scrape: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("p2p_chat_directory");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            let (start, factor, count) = LATENCY_BUCKETS;
            Histogram::new(exponential_buckets(start, factor, count))
        });
        registry.register_with_unit(
            "request_duration",
            "Time from a request's arrival to its answer, by route template",
            Unit::Seconds,
            durations.clone(),
        );
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        registry.register_collector(Box::new(SnapshotCollector(Arc::clone(&snapshot))));
        Self {
            registry,
            requests,
            durations,
            snapshot,
            scrape: tokio::sync::Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub(crate) fn observe(&self, route: &str, method: &str, status: u16, latency: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(latency.as_secs_f64());
    }

    /// Everything, as OpenMetrics text, after reading what is read at each scrape.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let _one = self.scrape.lock().await;
        let now = Utc::now();
        let window = chrono::Duration::from_std(state.settings().presence_window)
            .map_err(ApiError::internal)?;
        let users = state.store().user_counts(now - window).await?;
        let mailbox = state.store().mailbox_stats(now).await?;
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Snapshot {
            registered: users.registered,
            disabled: users.disabled,
            online: users.online,
            mail_messages: mailbox.messages,
            mail_bytes: mailbox.bytes,
            signaling: state.hub().connections() as u64,
            relayed_sessions: state.relay().sessions() as u64,
            relayed_sessions_started: state.relay().sessions_started(),
            relayed_bytes: state.relay().bytes_carried(),
            hashes_running: state.hashes_in_flight() as u64,
            hashes_waiting: state.hashes_waiting() as u64,
        };
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(ApiError::internal)?;
        Ok(out)
    }
}

/// What a scrape reads from the store and the running parts.
#[derive(Clone, Copy, Debug, Default)]
struct Snapshot {
    registered: u64,
    disabled: u64,
    online: u64,
    mail_messages: u64,
    mail_bytes: u64,
    signaling: u64,
    relayed_sessions: u64,
    relayed_sessions_started: u64,
    relayed_bytes: u64,
    hashes_running: u64,
    hashes_waiting: u64,
}

#[derive(Debug)]
struct SnapshotCollector(Arc<Mutex<Snapshot>>);

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        let gauges = [
            (
                "users_registered",
                "Accounts, disabled ones too",
                s.registered,
            ),
            (
                "users_disabled",
                "Accounts the operator disabled",
                s.disabled,
            ),
            (
                "users_online",
                "Accounts whose running client sent a heartbeat within the presence window",
                s.online,
            ),
            (
                "mailbox_messages",
                "Unexpired sealed messages waiting",
                s.mail_messages,
            ),
            (
                "mailbox_bytes",
                "Bytes of the unexpired sealed messages waiting",
                s.mail_bytes,
            ),
            (
                "signaling_connections",
                "Open signaling WebSockets of running clients on this process",
                s.signaling,
            ),
            (
                "relay_sessions",
                "Relayed sessions running on this process",
                s.relayed_sessions,
            ),
            (
                "password_hashes_running",
                "Password-hashing slots taken (bcrypt running, or its thread resting)",
                s.hashes_running,
            ),
            (
                "password_hashes_waiting",
                "Password checks waiting for a free hashing slot (the queue)",
                s.hashes_waiting,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            gauge.encode(metric)?;
        }
        let counters = [
            (
                "relay_sessions_started",
                "Relayed sessions started by this process",
                s.relayed_sessions_started,
            ),
            (
                "relay_bytes",
                "Bytes relayed by this process, both directions",
                s.relayed_bytes,
            ),
        ];
        for (name, help, value) in counters {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(metric)?;
        }
        Ok(())
    }
}

/// Middleware (per route, so the route's template is known): counts the answer of each
/// request and its latency.
pub(crate) async fn record(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    // The standard methods only: anyone may send made-up ones, and each would be a series.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
        _ => "OTHER",
    }
    .to_owned();
    let response = next.run(request).await;
    state.metrics().observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The router of the metrics address: `GET /metrics` and nothing else.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.metrics().render(&state).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(err) => err.into_response(),
    }
}

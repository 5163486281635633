//! Per-address rate limiting of the endpoints that cost the server (bcrypt), reveal data
//! (lookups, listing) or fill its disk (mailbox deposits): one token bucket per client address
//! ([`crate::client_ip`]), shared by all of them.
//!
//! Refused requests get 429 `too_many_requests` with a `Retry-After` header.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::state::AppState;

/// Default sustained rate: 60 limited requests per minute and address, far above what one
/// person typing commands needs.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 60;

/// Default burst: 20 requests at once, enough for a client that registers, logs in and loads
/// its contacts in one go.
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 20;

/// Addresses tracked before idle ones are dropped: 10,000 buckets of a few dozen bytes each.
const PRUNE_ABOVE: usize = 10_000;

/// A token bucket: `burst` requests at once, then one more every `replenish_every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once.
    pub burst: NonZeroU32,
    /// Time to earn one more request; a sustained rate of one per this period.
    pub replenish_every: Duration,
}

impl RateLimit {
    /// `per_minute` requests per minute sustained, `burst` at once; `None` when `per_minute`
    /// is 0 (no limit).
    pub fn per_minute(per_minute: u32, burst: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        Some(Self {
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            replenish_every: Duration::from_secs(60) / per_minute.get(),
        })
    }
}

impl Default for RateLimit {
    /// [`DEFAULT_RATE_LIMIT_PER_MINUTE`] with a burst of [`DEFAULT_RATE_LIMIT_BURST`].
    fn default() -> Self {
        Self {
            burst: NonZeroU32::new(DEFAULT_RATE_LIMIT_BURST).unwrap_or(NonZeroU32::MIN),
            replenish_every: Duration::from_secs(60) / DEFAULT_RATE_LIMIT_PER_MINUTE,
        }
    }
}

/// The buckets of every client address.
pub(crate) struct Limiter {
    buckets: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        // A zero period would be refused by governor; one nanosecond is "practically no limit".
        let period = limit.replenish_every.max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(limit.burst);
        Self {
            buckets: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// `Ok` when `addr` may make a request now, else how long until it may.
    pub(crate) fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        if self.buckets.len() > PRUNE_ABOVE {
            self.buckets.retain_recent();
        }
        self.buckets
            .check_key(&addr)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Whether a route is rate limited per address. Heartbeats, address updates, logout and the
/// owner's fetching and deleting of mail are not: they need the owner's token already.
pub fn is_limited(method: &Method, route: &str) -> bool {
    matches!(
        (method.as_str(), route),
        ("POST", "/register" | "/login")
            | ("GET" | "HEAD", "/clients" | "/clients/{username}")
            | ("DELETE", "/clients/{username}")
            | ("PUT", "/clients/{username}/password")
            | ("POST", "/mailbox/{key}" | "/relay/{key}")
    )
}

/// Middleware (a `route_layer`, so the matched route is known) that refuses a limited request
/// over its address's budget with 429.
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = state.limiter() else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    if !route.is_some_and(|route| is_limited(request.method(), route)) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // Requests without connection information (routers driven without a socket) share one
    // bucket rather than escaping the limit.
    let addr = client_ip(&parts, &state.settings().trusted_proxies)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    match limiter.check(addr) {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(wait) => ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_costly_or_revealing_routes_are_limited() {
        for (method, route) in [
            (Method::POST, "/register"),
            (Method::POST, "/login"),
            (Method::POST, "/relay/{key}"),
            (Method::GET, "/clients"),
            (Method::GET, "/clients/{username}"),
            (Method::DELETE, "/clients/{username}"),
            (Method::PUT, "/clients/{username}/password"),
            (Method::POST, "/mailbox/{key}"),
        ] {
            assert!(is_limited(&method, route), "{method} {route}");
        }
        for (method, route) in [
            (Method::PUT, "/clients/{username}"),
            (Method::POST, "/clients/{username}/heartbeat"),
            (Method::POST, "/logout"),
            (Method::GET, "/healthz"),
            (Method::GET, "/mailbox"),
            (Method::DELETE, "/mailbox/{key}"),
        ] {
            assert!(!is_limited(&method, route), "{method} {route}");
        }
    }

    #[test]
    fn a_bucket_empties_and_says_how_long_to_wait() {
        let limit = RateLimit::per_minute(1, 2).unwrap();
        assert_eq!(limit.replenish_every, Duration::from_secs(60));
        let limiter = Limiter::new(limit);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.check(a).is_ok());
        assert!(limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok(), "buckets are per address");
        assert_eq!(RateLimit::per_minute(0, 5), None);
    }
}

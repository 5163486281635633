//! Limits on HTTP connections, so that slow or idle clients cannot hold the directory's file
//! descriptors: at most [`ConnectionLimits::max_connections`] at once, at most
//! [`ConnectionLimits::max_per_address`] from one address (trusted proxies excepted, as they
//! carry everyone's requests), and a connection that does not send a complete request head
//! within [`ConnectionLimits::header_timeout`] — a slowloris, or a keep-alive connection idle
//! that long — is closed.
//!
//! A connection over a limit is closed at once, before TLS or HTTP read a byte of it.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use hyper_util::rt::TokioTimer;
use hyper_util::server::conn::auto::Builder;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default of [`ConnectionLimits::max_connections`]: 512, well under the 1,024 open files a
/// process gets by default, leaving room for the database and the log.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default of [`ConnectionLimits::max_per_address`]: 64.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 64;
/// Default of [`ConnectionLimits::header_timeout`]: 10 s. A client's requests take
/// milliseconds; it sends one every 20 s, so an idle keep-alive connection is not worth
/// keeping.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection limits of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most open connections at once.
    pub max_connections: usize,
    /// Most open connections from one IP address (a trusted proxy has no such limit).
    pub max_per_address: usize,
    /// Longest wait for a complete request head, on a new connection and between the
    /// requests of a kept-alive one; the connection is closed after it.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// [`DEFAULT_MAX_CONNECTIONS`], [`DEFAULT_MAX_CONNECTIONS_PER_ADDRESS`],
    /// [`DEFAULT_HEADER_TIMEOUT`].
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}

impl ConnectionLimits {
    /// Sets the timeouts on hyper's connection builder: the request-head timeout for HTTP/1,
    /// and for HTTP/2 a keep-alive ping every `header_timeout` that must be answered within
    /// it (which drops dead peers).
    pub fn configure(&self, builder: &mut Builder<hyper_util::rt::TokioExecutor>) {
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(self.header_timeout)
            .keep_alive_timeout(self.header_timeout);
    }
}

/// An acceptor that admits a connection within the limits and then hands it to `inner` (TLS,
/// or nothing for plain HTTP).
#[derive(Clone)]
pub struct Limited<A> {
    inner: A,
    total: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_address: usize,
    header_timeout: Duration,
    trusted: Arc<Vec<IpNet>>,
}

impl<A> Limited<A> {
    /// `inner` behind `limits`; connections from `trusted` proxies skip the per-address limit.
    pub fn new(inner: A, limits: &ConnectionLimits, trusted: &[IpNet]) -> Self {
        Self {
            inner,
            total: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            per_address: Arc::default(),
            max_per_address: limits.max_per_address.max(1),
            header_timeout: limits.header_timeout,
            trusted: Arc::new(trusted.to_vec()),
        }
    }

    /// The slots for one connection from `ip`, or `None` when a limit is reached.
    fn admit(&self, ip: IpAddr) -> Option<Slots> {
        let total = Arc::clone(&self.total).try_acquire_owned().ok()?;
        let address = if self.trusted.iter().any(|net| net.contains(&ip)) {
            None
        } else {
            let mut table = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
            let count = table.entry(ip).or_insert(0);
            if *count >= self.max_per_address {
                return None;
            }
            *count += 1;
            Some(AddressSlot {
                table: Arc::clone(&self.per_address),
                ip,
            })
        };
        Some(Slots {
            _total: total,
            _address: address,
        })
    }
}

/// One connection's place in the per-address table; given back when dropped.
struct AddressSlot {
    table: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = table.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

/// What a connection holds while it is open.
struct Slots {
    _total: OwnedSemaphorePermit,
    _address: Option<AddressSlot>,
}

impl<A, S> Accept<TcpStream, S> for Limited<A>
where
    A: Accept<TcpStream, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    A::Stream: Unpin,
    S: Send + 'static,
{
    type Stream = Counted<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let slots = stream
            .peer_addr()
            .ok()
            .and_then(|addr| self.admit(addr.ip()));
        let inner = self.inner.clone();
        let first_byte = self.header_timeout;
        Box::pin(async move {
            let Some(slots) = slots else {
                // Dropping the stream closes it.
                return Err(io::Error::other("connection limit reached"));
            };
            // A client speaks first (a request or a TLS hello). Before it does, neither TLS
            // nor hyper's protocol detection has a timeout of its own.
            let mut first = [0u8; 1];
            match tokio::time::timeout(first_byte, stream.peek(&mut first)).await {
                Ok(Ok(0)) => return Err(io::Error::other("closed before sending anything")),
                Ok(peeked) => drop(peeked?),
                Err(_) => return Err(io::Error::other("nothing sent within the header timeout")),
            }
            // Relayed sessions and signaling carry small frames that must not wait for
            // Nagle's algorithm to meet the peer's delayed acknowledgement (~40 ms a frame).
            stream.set_nodelay(true)?;
            let (stream, service) = inner.accept(stream, service).await?;
            Ok((
                Counted {
                    inner: stream,
                    _slots: slots,
                },
                service,
            ))
        })
    }
}

/// A connection stream that holds its [`Limited`] slots until it is dropped.
pub struct Counted<S> {
    inner: S,
    _slots: Slots,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

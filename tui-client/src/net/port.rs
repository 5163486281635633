//! One local TCP port for everything: the peer listener, the signaling connection to the
//! directory and the connections a hole punch opens all leave from (or arrive at) the same
//! port. A NAT that keeps one public port per local port (endpoint-independent mapping,
//! RFC 4787 §4.1) then shows peers the very address:port the directory observed on our
//! signaling connection, which is what a hole punch dials.
//!
//! Sharing a port takes `SO_REUSEADDR` and `SO_REUSEPORT` on every socket bound to it (Linux
//! allows a connecting socket and a listening one on one port when all of them set
//! `SO_REUSEPORT` and belong to one user).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Connections waiting in the listen backlog: 1024 (tokio's default).
const BACKLOG: u32 = 1024;

/// A socket for `addr`'s family sharing its port ([`SO_REUSEPORT`](self)); an IPv6 one takes
/// IPv6 only (`IPV6_V6ONLY`), so that it never competes with an IPv4 listener on the port.
fn socket_for(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::from_std_stream(v6_only()?.into())
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    Ok(socket)
}

/// A non-blocking IPv6 TCP socket that takes IPv6 only.
fn v6_only() -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV6,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_only_v6(true)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Binds the peer listener at `addr` so that outgoing connections can share its port.
///
/// Another process already listening on the port makes this fail (with `AddrInUse`), as a
/// plain bind would: the port is first bound without `SO_REUSEPORT` for a moment, so a second
/// client never silently splits our incoming connections with us.
///
/// # Errors
/// The bind's or listen's [`io::Error`].
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let addr = {
        let probe = if addr.is_ipv4() {
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?
        } else {
            v6_only()?
        };
        // As a plain bind does (std sets it too): a connection of ours lingering in
        // TIME_WAIT does not hold the port, a socket bound or listening there does.
        probe.set_reuse_address(true)?;
        probe.bind(&addr.into())?;
        // Port 0: keep the port the system picked for the probe.
        probe
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))?
    };
    let socket = socket_for(addr)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Listens on IPv6 too, beside a listener on `v4` (the unspecified IPv4 address with its
/// port): on `[::]` at the same port, IPv6 only, so that peers reach us at our global IPv6
/// addresses ([`global_ipv6`]). `None` when `v4` is not the unspecified IPv4 address, the
/// host has no IPv6, or the port is taken there.
pub fn listen_v6_beside(v4: SocketAddr) -> Option<TcpListener> {
    if v4.ip() != IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
        return None;
    }
    listen(SocketAddr::new(
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        v4.port(),
    ))
    .ok()
}

/// The global IPv6 addresses of this host's interfaces: not loopback, unspecified, link-local
/// (fe80::/10), unique local (fc00::/7, RFC 4193), site-local (fec0::/10, deprecated),
/// multicast or IPv4-mapped. Peers on the IPv6 internet may reach us there without any NAT.
pub fn global_ipv6() -> Vec<Ipv6Addr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut found: Vec<Ipv6Addr> = interfaces
        .iter()
        .filter_map(|i| match i.ip() {
            IpAddr::V6(v6) if is_global_v6(v6) => Some(v6),
            _ => None,
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.to_ipv4_mapped().is_some()
        || first & 0xffc0 == 0xfe80
        || first & 0xffc0 == 0xfec0
        || first & 0xfe00 == 0xfc00)
}

/// Holds a port at `addr` (port 0: one the system picks) for outgoing connections of a
/// client that does not listen (`send`): a socket bound with `SO_REUSEPORT`, never listening,
/// that keeps the port ours for as long as it lives.
///
/// # Errors
/// The bind's [`io::Error`].
pub fn reserve(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = socket_for(addr)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// Listens on `addr`, a port we already hold ([`reserve`]), for a moment: the hole punch of a
/// client without a listener takes a connection that arrives there.
///
/// # Errors
/// The bind's or listen's [`io::Error`].
pub fn listen_shared(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket_for(addr)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Connects to `remote` from `local` (our listener's address), so the connection leaves from
/// our listening port. When `local` is of the other IP family, the unspecified address of
/// `remote`'s family with `local`'s port is used.
///
/// # Errors
/// The bind's or connect's [`io::Error`]: `AddrNotAvailable` while an earlier connection
/// between the same two ports lingers in `TIME_WAIT` (up to 60 s on Linux), `ConnectionRefused`
/// when the other side (or a router) answers with a reset.
pub async fn connect_from(local: SocketAddr, remote: SocketAddr) -> io::Result<TcpStream> {
    let local = if local.is_ipv4() == remote.is_ipv4() {
        local
    } else {
        let any = if remote.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        SocketAddr::new(any, local.port())
    };
    let socket = socket_for(local)?;
    socket.bind(local)?;
    socket.connect(remote).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_leaves_from_the_listening_port_and_the_listener_still_accepts() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = listener.local_addr().unwrap();
        let other = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (out, accepted) = tokio::join!(
            connect_from(local, other.local_addr().unwrap()),
            other.accept()
        );
        out.unwrap();
        let (_, seen) = accepted.unwrap();
        assert_eq!(
            seen, local,
            "the connection must come from the listening port"
        );
        // The listener is unaffected.
        let (_incoming, accepted) = tokio::join!(TcpStream::connect(local), listener.accept());
        accepted.unwrap();
    }

    #[tokio::test]
    async fn a_second_listener_on_a_taken_port_is_refused() {
        let first = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let taken = first.local_addr().unwrap();
        let err = listen(taken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn two_connections_from_one_port_to_the_same_peer_are_refused_cleanly() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = listener.local_addr().unwrap();
        let other = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let remote = other.local_addr().unwrap();
        let _first = connect_from(local, remote).await.unwrap();
        // The same four-tuple twice cannot exist; the error says so instead of hanging.
        assert!(connect_from(local, remote).await.is_err());
    }

    #[test]
    fn only_global_ipv6_addresses_count() {
        for global in ["2001:db8::7", "2a00:1450::1"] {
            assert!(is_global_v6(global.parse().unwrap()), "{global}");
        }
        for local in [
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fec0::1",
            "ff02::1",
            "::ffff:192.0.2.1",
        ] {
            assert!(!is_global_v6(local.parse().unwrap()), "{local}");
        }
    }

    #[tokio::test]
    async fn an_ipv6_listener_shares_the_port_of_the_ipv4_one() {
        let v4 = listen("0.0.0.0:0".parse().unwrap()).unwrap();
        let port = v4.local_addr().unwrap().port();
        // This machine may have no IPv6 at all; then there is nothing to share.
        let Some(v6) = listen_v6_beside(v4.local_addr().unwrap()) else {
            return;
        };
        assert_eq!(v6.local_addr().unwrap().port(), port);
        let (_out, accepted) = tokio::join!(TcpStream::connect(("::1", port)), v6.accept());
        accepted.unwrap();
        // IPv4 still goes to the IPv4 listener.
        let (_out, accepted) = tokio::join!(TcpStream::connect(("127.0.0.1", port)), v4.accept());
        accepted.unwrap();
        // A second client is still refused the port, on either family.
        assert!(listen(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)).is_err());
    }
}

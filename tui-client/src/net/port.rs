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

fn socket_for(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
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
    let probe = std::net::TcpListener::bind(addr)?;
    // Port 0: keep the port the system picked for the probe.
    let addr = probe.local_addr()?;
    drop(probe);
    let socket = socket_for(addr)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
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
}

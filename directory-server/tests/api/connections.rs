//! The real binary under slow, idle and too many connections: a request head must arrive
//! within --header-timeout-secs (on a new connection and between kept-alive requests), and
//! connections over --max-connections or --max-connections-per-address are closed at once.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::binary::{directory, launch, stop};

/// Starts the binary over plain HTTP with `extra` options; returns it and its address.
fn start(extra: &[&str]) -> (std::process::Child, SocketAddr) {
    let mut args = vec!["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"];
    args.extend_from_slice(extra);
    let (child, url) = launch(directory(), &args);
    let addr = url
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address");
    (child, addr)
}

/// Whether the server closes `stream` within `within` (reads EOF or a reset), ignoring any
/// answer it sends first.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// One `GET /ping` on `stream`, keeping the connection open; true when it got "pong".
fn ping(stream: &mut TcpStream) -> bool {
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"pong") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// A connection to `addr` from the loopback address `from` (std cannot bind before
/// connecting, so a tokio socket does it and hands over the std stream).
fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let std = stream.into_std().unwrap();
        std.set_nonblocking(false).unwrap();
        std
    })
}

#[test]
fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    let (mut child, addr) = start(&["--header-timeout-secs", "1"]);
    // A slowloris: half a request head, then nothing.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /ping HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        .unwrap();
    // A kept-alive connection that goes idle after one request.
    let mut idle = TcpStream::connect(addr).unwrap();
    assert!(ping(&mut idle));
    // A connection that never says a word.
    let mut silent = TcpStream::connect(addr).unwrap();
    for (name, stream) in [
        ("slow", &mut slow),
        ("idle", &mut idle),
        ("silent", &mut silent),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(15)),
            "the {name} connection was kept open"
        );
    }
    // A connection that keeps sending requests is served as long as it likes.
    let mut busy = TcpStream::connect(addr).unwrap();
    for _ in 0..4 {
        assert!(ping(&mut busy));
        std::thread::sleep(Duration::from_millis(400));
    }
    stop(&mut child);
}

#[test]
fn connections_over_the_limits_are_closed_at_once() {
    let (mut child, addr) = start(&[
        "--max-connections",
        "6",
        "--max-connections-per-address",
        "3",
        "--header-timeout-secs",
        "3600",
    ]);
    // Three held from 127.0.0.1 (each served once, so surely admitted) fill its share: a
    // fourth is closed at once.
    let mut held: Vec<TcpStream> = (0..3).map(|_| connect_from([127, 0, 0, 1], addr)).collect();
    assert!(held.iter_mut().all(ping));
    let mut over = connect_from([127, 0, 0, 1], addr);
    assert!(closed_within(&mut over, Duration::from_secs(10)));
    // Another address is still served, up to the total of six.
    let mut others: Vec<TcpStream> = (0..3).map(|_| connect_from([127, 0, 0, 2], addr)).collect();
    assert!(others.iter_mut().all(ping));
    let mut over = connect_from([127, 0, 0, 3], addr);
    assert!(closed_within(&mut over, Duration::from_secs(10)));
    // Once some close, new connections are served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut fresh = connect_from([127, 0, 0, 1], addr);
        if ping(&mut fresh) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection served after others closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(others);
    stop(&mut child);
}

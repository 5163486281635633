//! A STUN responder for the lab's routers that run miniupnpd: it answers Binding requests
//! (RFC 8489 §3, the format of RFC 5389) with the address and port each request came from,
//! in a MAPPED-ADDRESS attribute (§14.1), which miniupnpd reads to learn its public address.
//! It ignores RFC 3489's CHANGE-REQUEST and answers from its own address: miniupnpd then
//! judges its router unfiltered and maps ports. Test infrastructure only.

use std::fs::File;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// RFC 8489 §5: the magic cookie every message carries after its type and length.
const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Binding request and Binding success response (RFC 8489 §5, §18.2).
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
/// MAPPED-ADDRESS (RFC 8489 §14.1, §18.3).
const MAPPED_ADDRESS: u16 = 0x0001;
/// A STUN header: type, length, cookie, 96-bit transaction id (RFC 8489 §5).
const HEADER: usize = 20;

/// A responder running on a thread inside a network namespace; stopped when dropped.
pub struct Responder {
    /// The UDP port it answers on.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    /// Starts answering on `ip` (an address of namespace `ns`), on a port the system picks.
    pub fn start(ns: &str, ip: &str) -> Responder {
        let netns = File::open(format!("/run/netns/{ns}")).expect("the namespace");
        let ip: IpAddr = ip.parse().expect("an IP address");
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_tx, bound) = std::sync::mpsc::channel();
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            // Only this thread enters the namespace (setns(2) acts on the calling thread).
            rustix::thread::move_into_link_name_space(
                netns.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("enter the router's namespace");
            let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind the STUN port");
            socket
                .set_read_timeout(Some(Duration::from_millis(100)))
                .expect("read timeout");
            bound_tx
                .send(socket.local_addr().expect("address").port())
                .expect("report the port");
            let mut buf = [0u8; 1500];
            while !stopping.load(Ordering::Relaxed) {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(answer) = binding_response(&buf[..len], from) {
                    let _ = socket.send_to(&answer, from);
                }
            }
        });
        let port = bound.recv().expect("the responder started");
        Responder {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The success response to a Binding request from `from` (IPv4 only); `None` for anything else.
fn binding_response(request: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    let SocketAddr::V4(from) = from else {
        return None;
    };
    if request.len() < HEADER || u16::from_be_bytes([request[0], request[1]]) != BINDING_REQUEST {
        return None;
    }
    let mut attribute = Vec::with_capacity(12);
    attribute.extend_from_slice(&MAPPED_ADDRESS.to_be_bytes());
    attribute.extend_from_slice(&8u16.to_be_bytes());
    attribute.extend_from_slice(&[0, 0x01]); // reserved, family IPv4
    attribute.extend_from_slice(&from.port().to_be_bytes());
    attribute.extend_from_slice(&from.ip().octets());
    let mut response = Vec::with_capacity(HEADER + attribute.len());
    response.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    response.extend_from_slice(&(attribute.len() as u16).to_be_bytes());
    response.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    response.extend_from_slice(&request[8..HEADER]); // the request's transaction id
    response.extend_from_slice(&attribute);
    Some(response)
}

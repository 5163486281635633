//! Which address a request comes from: the TCP peer, or — when that peer is one of the
//! operator's trusted reverse proxies — the rightmost untrusted hop of `X-Forwarded-For`.
//!
//! Everything left of the first untrusted hop was written by the client itself, so it could be
//! anything; only hops appended by trusted proxies are believed.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The `X-Forwarded-For` header (de-facto standard; RFC 7239's `Forwarded` is not read).
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client address of a request, after proxy resolution; `None` when the server was not
/// given connection information (a router driven without a socket, as in some tests).
///
/// Never rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_ip(
            parts,
            &state.settings().trusted_proxies,
        )))
    }
}

/// The client address of a request with its source port when known (see
/// [`resolve_endpoint`]): what the signaling connection reports as observed.
///
/// Never rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientEndpoint(pub Option<(IpAddr, Option<u16>)>);

impl FromRequestParts<AppState> for ClientEndpoint {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        let trusted = &state.settings().trusted_proxies;
        Ok(ClientEndpoint(resolve_endpoint(
            peer,
            &parts.headers,
            trusted,
        )))
    }
}

/// Whether `ip` is one of the `trusted` proxies: a request resolved to it came from the proxy
/// itself, or its `X-Forwarded-For` could not be read.
pub fn is_trusted_proxy(ip: IpAddr, trusted: &[IpNet]) -> bool {
    is_trusted(ip.to_canonical(), trusted)
}

/// The resolved client address of a request (see [`resolve`]).
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    resolve(peer, &parts.headers, trusted)
}

/// The client address given the TCP peer and the request headers.
///
/// - an untrusted (or absent) peer is the answer itself; its headers are ignored;
/// - from a trusted peer, `X-Forwarded-For` is read right to left, skipping trusted proxies:
///   the first untrusted address is the client;
/// - a malformed entry stops the walk, and the last trusted hop before it is the answer;
/// - when every hop is trusted, the leftmost one is.
///
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) count as their IPv4 address.
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer.map(|ip| SocketAddr::new(ip, 0));
    resolve_endpoint(peer, headers, trusted).map(|(ip, _)| ip)
}

/// [`resolve`], with the client's source port: the TCP peer's own for a peer that is not a
/// trusted proxy; otherwise the port of the `X-Forwarded-For` entry that names the client,
/// when the proxy wrote one there (`203.0.113.7:41234`, `[2001:db8::7]:41234`), else `None`.
pub fn resolve_endpoint(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<(IpAddr, Option<u16>)> {
    let peer = peer?;
    let mut client = (peer.ip().to_canonical(), Some(peer.port()));
    if !is_trusted(client.0, trusted) {
        return Some(client);
    }
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .collect();
    for hop in hops.iter().rev() {
        let Some(hop) = parse_hop(hop) else {
            break;
        };
        client = hop;
        if !is_trusted(hop.0, trusted) {
            break;
        }
    }
    Some(client)
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

/// One `X-Forwarded-For` entry: an IP address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<(IpAddr, Option<u16>)> {
    let hop = hop.trim();
    let (addr, port) = hop
        .parse::<IpAddr>()
        .map(|ip| (ip, None))
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| (s.ip(), Some(s.port()))))
        .ok()?;
    Some((addr.to_canonical(), port.filter(|&p| p != 0)))
}

/// Parses a `--trusted-proxy` value: an IP address (a single host) or a CIDR network.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_trusted_proxy(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn with_xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn untrusted_peers_are_taken_as_they_are() {
        let headers = with_xff(&["6.6.6.6"]);
        assert_eq!(
            resolve(Some(ip("1.2.3.4")), &headers, &[]),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(resolve(None, &headers, &[]), None);
        let mapped = ip("::ffff:1.2.3.4");
        assert_eq!(resolve(Some(mapped), &headers, &[]), Some(ip("1.2.3.4")));
    }

    #[test]
    fn trusted_proxies_are_walked_from_the_right() {
        let trusted = [parse_trusted_proxy("10.0.0.0/8").unwrap()];
        let peer = Some(ip("10.0.0.1"));
        let cases: [(&[&str], &str); 7] = [
            (&["203.0.113.7"], "203.0.113.7"),
            (&["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
            (&["6.6.6.6", "203.0.113.7, 10.1.1.1"], "203.0.113.7"),
            (&["10.2.2.2, 10.1.1.1"], "10.2.2.2"),
            (&["6.6.6.6, garbage, 10.1.1.1"], "10.1.1.1"),
            (&[], "10.0.0.1"),
            (&["[2001:db8::1]:443, 198.51.100.2:80"], "198.51.100.2"),
        ];
        for (values, expected) in cases {
            let got = resolve(peer, &with_xff(values), &trusted);
            assert_eq!(got, Some(ip(expected)), "{values:?}");
        }
    }

    #[test]
    fn a_port_the_proxy_writes_beside_the_client_is_kept() {
        let trusted = [parse_trusted_proxy("10.0.0.0/8").unwrap()];
        let proxy: SocketAddr = "10.0.0.1:51000".parse().unwrap();
        let endpoint = |values: &[&str]| resolve_endpoint(Some(proxy), &with_xff(values), &trusted);
        assert_eq!(
            endpoint(&["203.0.113.7:41234"]),
            Some((ip("203.0.113.7"), Some(41234)))
        );
        assert_eq!(
            endpoint(&["[2001:db8::7]:41234, 10.1.1.1"]),
            Some((ip("2001:db8::7"), Some(41234)))
        );
        // No port written: none known (the proxy's own is not the client's).
        assert_eq!(endpoint(&["203.0.113.7"]), Some((ip("203.0.113.7"), None)));
        assert_eq!(
            endpoint(&["203.0.113.7:0"]),
            Some((ip("203.0.113.7"), None))
        );
        // An untrusted peer is its own socket address; what it writes is ignored.
        let direct: SocketAddr = "198.51.100.9:40000".parse().unwrap();
        assert_eq!(
            resolve_endpoint(Some(direct), &with_xff(&["6.6.6.6:1"]), &trusted),
            Some((ip("198.51.100.9"), Some(40000)))
        );
    }

    #[test]
    fn proxy_specs_are_addresses_or_networks() {
        assert_eq!(
            parse_trusted_proxy("127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_trusted_proxy(" ::1 ").unwrap().to_string(), "::1/128");
        assert!(parse_trusted_proxy("10.0.0.0/8").is_ok());
        for bad in ["", "proxy.example", "10.0.0.0/33", "1.2.3"] {
            assert!(parse_trusted_proxy(bad).is_err(), "{bad}");
        }
    }
}

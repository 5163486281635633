//! Relay requests for tickets another replica issued: the replica that issued a ticket
//! splices its session, so a client that reaches a different replica (behind a load balancer
//! that does not know about tickets) is passed on to it. This replica sends the same request
//! (`GET` to join, `DELETE` to decline, with the client's `Authorization`) to the issuing
//! replica's URL (`--replica-url`, recorded in the shared database) over HTTP/1.1, returns its
//! answer, and when both sides upgrade, copies bytes between the client and that replica.
//!
//! The bytes are the clients' Noise session, as on any relay; the issuing replica applies the
//! relay's limits, this one only passes them on.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Uri, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;

use crate::error::ApiError;

/// Longest wait for the issuing replica to accept the connection and answer: 5 s.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// The replica that issued `ticket` (the part before its first `.`), if any.
pub fn issuer(ticket: &str) -> Option<&str> {
    ticket.split_once('.').map(|(replica, _)| replica)
}

/// Sends `request` (a relay request whose ticket the replica at `url` issued) to that replica
/// and returns its answer; a `101 Switching Protocols` is returned too, and the two upgraded
/// connections are spliced once the client's upgrade completes.
///
/// # Errors
/// [`ApiError::PathUnavailable`] when `url` is not `http://HOST:PORT`, or the replica cannot be
/// reached or does not answer within 5 s.
pub async fn forward(url: &str, mut request: Request) -> Result<Response, ApiError> {
    let unreachable = |why: String| {
        tracing::warn!(%url, %why, "cannot pass a relay request on to the replica that issued it");
        ApiError::PathUnavailable(
            "the directory process that issued this relay ticket cannot be reached; ask for a \
             new ticket"
                .into(),
        )
    };
    let target: Uri = url
        .parse()
        .map_err(|err| unreachable(format!("not a URL: {err}")))?;
    let authority = match (target.scheme_str(), target.authority()) {
        (Some("http"), Some(authority)) => authority.clone(),
        _ => return Err(unreachable("not an http://HOST:PORT URL".into())),
    };
    let port = authority.port_u16().unwrap_or(80);
    let connect = tokio::net::TcpStream::connect((authority.host(), port));
    let stream = tokio::time::timeout(FORWARD_TIMEOUT, connect)
        .await
        .map_err(|_| unreachable("connect timed out".into()))?
        .map_err(|err| unreachable(err.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| unreachable(err.to_string()))?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });

    let client_upgrade = hyper::upgrade::on(&mut request);
    let (mut parts, _) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = path
        .parse()
        .map_err(|err| unreachable(format!("bad path: {err}")))?;
    let host = HeaderValue::from_str(authority.as_str())
        .map_err(|err| unreachable(format!("bad host: {err}")))?;
    parts.headers.insert(header::HOST, host);
    let upstream = Request::from_parts(parts, Body::empty());
    let mut answer = tokio::time::timeout(FORWARD_TIMEOUT, sender.send_request(upstream))
        .await
        .map_err(|_| unreachable("no answer in time".into()))?
        .map_err(|err| unreachable(err.to_string()))?;
    if answer.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        let upstream_upgrade = hyper::upgrade::on(&mut answer);
        tokio::spawn(async move {
            let (Ok(client), Ok(upstream)) = (client_upgrade.await, upstream_upgrade.await) else {
                return;
            };
            let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
    let (parts, body) = answer.into_parts();
    Ok(Response::from_parts(parts, Body::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_names_the_replica_that_issued_it() {
        assert_eq!(issuer("0123456789abcdef.00ff"), Some("0123456789abcdef"));
        assert_eq!(issuer("00ff"), None, "a lone directory's tickets name none");
    }
}

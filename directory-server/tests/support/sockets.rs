//! Clients of the directory's sockets for tests: open `/signal` with a token and read the
//! next signal; join a relay ticket and read from the relayed stream.

use std::time::Duration;

use futures::StreamExt;
use p2p_chat_protocol::api::signal::{RELAY_UPGRADE, SIGNAL_PATH, ServerSignal};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async};

/// An open signaling connection.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/signal` on `addr` with `token`; the HTTP status of a refusal otherwise.
pub async fn open(addr: std::net::SocketAddr, token: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}{SIGNAL_PATH}")
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let stream = TcpStream::connect(addr).await.unwrap();
    match client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

/// The next signal on `socket` (control frames skipped).
pub async fn next(socket: &mut Socket) -> ServerSignal {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a signal in time")
            .expect("socket open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Joins `ticket` as the owner of `token`: the upgraded byte stream, or the refusal's status.
pub async fn join(
    addr: std::net::SocketAddr,
    ticket: &str,
    token: &str,
) -> Result<reqwest::Upgraded, u16> {
    let response = join_answer(addr, ticket, token).await?;
    Ok(response.upgrade().await.unwrap())
}

/// Asks to join `ticket` as the owner of `token`: the `101` answer (its headers), not yet
/// upgraded, or the refusal's status.
pub async fn join_answer(
    addr: std::net::SocketAddr,
    ticket: &str,
    token: &str,
) -> Result<reqwest::Response, u16> {
    p2p_chat_directory::tls::install_crypto_provider();
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/relay/{ticket}"))
        .bearer_auth(token)
        .header("upgrade", RELAY_UPGRADE)
        .header("connection", "upgrade")
        .send()
        .await
        .unwrap();
    if response.status().as_u16() != 101 {
        return Err(response.status().as_u16());
    }
    Ok(response)
}

/// Reads exactly `n` bytes from a relayed stream; fails after 10 s.
pub async fn read_exactly(stream: &mut reqwest::Upgraded, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut buf))
        .await
        .expect("bytes in time")
        .expect("read");
    buf
}

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

#[test]
fn endpoint_urls_keep_the_prefix_and_encode_names() {
    let client = DirectoryClient::new("http://x.org:8/dir").unwrap();
    assert_eq!(client.url(&["ping"]).as_str(), "http://x.org:8/dir/ping");
    let url = client.user_url("a b/c", &["heartbeat"]).unwrap();
    assert_eq!(
        url.as_str(),
        "http://x.org:8/dir/clients/a%20b%2Fc/heartbeat"
    );
    assert_eq!(
        client.user_url("...", &[]).unwrap().path(),
        "/dir/clients/..."
    );
    for dots in ["", ".", ".."] {
        assert!(matches!(
            client.user_url(dots, &[]),
            Err(DirectoryError::NotFound { .. })
        ));
    }
    assert_eq!(client.host_and_port(), Some(("x.org".to_owned(), 8)));
    let v6 = DirectoryClient::new("http://[::1]").unwrap();
    assert_eq!(v6.host_and_port(), Some(("::1".to_owned(), 80)));
}

/// Serves one canned HTTP response to the first connection and returns the base URL.
async fn canned(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "client closed before sending a request");
            request.extend_from_slice(&buf[..n]);
        }
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn html_error_page_gives_the_status_text() {
    let url = canned(
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 22\r\n\
         connection: close\r\n\r\n<html>upstream!</html>",
    )
    .await;
    let err = DirectoryClient::new(&url)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DirectoryError::Server { status: 502, message } if message == "Bad Gateway"),
        "{err:?}"
    );
}

#[tokio::test]
async fn other_servers_are_recognised() {
    let url =
        canned("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello").await;
    let err = DirectoryClient::new(&url)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(
        matches!(err, DirectoryError::UnexpectedResponse { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("check the URL"), "{err}");

    let url = canned("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]").await;
    let err = DirectoryClient::new(&url)
        .unwrap()
        .lookup("bob")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bad JSON"), "{err}");
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = DirectoryClient::new(&format!("http://{addr}/")).unwrap();
    let err = client.ping().await.unwrap_err();
    let DirectoryError::Unreachable { url, detail } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(url, &format!("http://{addr}"));
    assert!(!detail.is_empty());
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test]
async fn redirects_to_another_origin_are_refused_with_the_target() {
    let url = canned(
        "HTTP/1.1 301 Moved Permanently\r\nlocation: http://198.51.100.7:27182/ping\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    let err = DirectoryClient::new(&url)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    let DirectoryError::Redirected { target, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(target, "http://198.51.100.7:27182/ping");
    let text = err.to_string();
    assert!(text.contains("--server") && !text.contains('\n'), "{text}");
}

#[tokio::test]
async fn a_redirect_within_the_directory_is_followed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for answer in [
            "HTTP/1.1 308 Permanent Redirect\r\nlocation: /dir/ping\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\npong",
        ] {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            socket.write_all(answer.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        }
    });
    DirectoryClient::new(&format!("http://{addr}"))
        .unwrap()
        .ping()
        .await
        .unwrap();
}

/// Serves one 200 answer with `MAX_RESPONSE_BYTES` + 1 bytes of body, announced in
/// Content-Length or streamed in chunks without it, and returns the base URL.
async fn oversize(announced: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = socket.read(&mut buf).await.unwrap();
        let total = MAX_RESPONSE_BYTES + 1;
        let head = if announced {
            format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\nconnection: close\r\n\r\n")
        } else {
            "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_owned()
        };
        socket.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            // The client hangs up once it has seen enough; that ends the answer.
            if socket.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            sent += n;
        }
        let _ = socket.shutdown().await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn answers_over_the_size_cap_are_refused() {
    for announced in [true, false] {
        let url = oversize(announced).await;
        let err = DirectoryClient::new(&url)
            .unwrap()
            .ping()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DirectoryError::UnexpectedResponse { detail, .. } if detail.contains("16 MiB")),
            "announced={announced}: {err:?}"
        );
    }
}

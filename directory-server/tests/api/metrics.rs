//! `GET /metrics` on its own address: counters move with requests, gauges read the store and
//! the running parts, and the public address does not serve it.

use axum::http::StatusCode;
use p2p_chat_directory::metrics::{CONTENT_TYPE, metrics_app};
use p2p_chat_directory::{AppState, app};

use crate::binary::{directory, launch, stop};
use crate::mailbox::{accounts, deposit};
use crate::support::{call, fast_settings, memory_state};

/// The value of the sample line that starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .trim()
        .parse()
        .expect("a number")
}

async fn scrape(state: &AppState) -> String {
    let reply = call(&metrics_app(state.clone()), "GET", "/metrics", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.headers["content-type"], CONTENT_TYPE);
    assert!(reply.text.ends_with("# EOF\n"), "{}", reply.text);
    reply.text
}

#[tokio::test]
async fn counters_move_with_requests_and_gauges_read_the_directory() {
    let state = memory_state(fast_settings()).await;
    let app = app(state.clone());
    let before = scrape(&state).await;
    assert_eq!(sample(&before, "p2p_chat_directory_users_registered"), 0.0);

    let [alice, _bob] = accounts(&app, ["alice", "bob"]).await;
    for _ in 0..3 {
        call(&app, "GET", "/clients/alice", None, None).await;
    }
    call(&app, "GET", "/clients/nobody", None, None).await;
    call(&app, "GET", "/no/such/route", None, None).await;
    call(&app, "BREW", "/no/such/route", None, None).await;
    deposit(&app, Some(&alice), "bob", &[7; 100]).await;
    call(&app, "POST", "/clients/alice/heartbeat", None, Some(&alice)).await;

    let text = scrape(&state).await;
    let lookups =
        r#"p2p_chat_directory_requests_total{route="/clients/{username}",method="GET",status="#;
    assert_eq!(sample(&text, &format!(r#"{lookups}"200"}}"#)), 3.0);
    assert_eq!(sample(&text, &format!(r#"{lookups}"404"}}"#)), 1.0);
    assert_eq!(
        sample(
            &text,
            r#"p2p_chat_directory_requests_total{route="/register",method="POST",status="201"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            r#"p2p_chat_directory_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        1.0
    );
    assert!(
        !text.contains("nobody") && !text.contains("\"/clients/alice\""),
        "no names"
    );
    assert!(!text.contains("BREW"), "made-up methods count as OTHER");
    assert_eq!(
        sample(
            &text,
            r#"p2p_chat_directory_requests_total{route="unmatched",method="OTHER",status="404"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            r#"p2p_chat_directory_request_duration_seconds_count{route="/clients/{username}"}"#
        ),
        4.0
    );
    assert_eq!(sample(&text, "p2p_chat_directory_users_registered"), 2.0);
    assert_eq!(sample(&text, "p2p_chat_directory_users_online"), 1.0);
    assert_eq!(sample(&text, "p2p_chat_directory_mailbox_messages"), 1.0);
    assert_eq!(sample(&text, "p2p_chat_directory_mailbox_bytes"), 100.0);
    for gauge in [
        "p2p_chat_directory_signaling_connections",
        "p2p_chat_directory_relay_sessions",
        "p2p_chat_directory_relay_sessions_started_total",
        "p2p_chat_directory_relay_bytes_total",
        "p2p_chat_directory_password_hashes_waiting",
    ] {
        assert_eq!(sample(&text, gauge), 0.0, "{gauge}");
    }
    // A hashing thread may still rest after the registrations' hashes (its duty cycle).
    let running = sample(&text, "p2p_chat_directory_password_hashes_running");
    let slots = state.settings().hash_concurrency as f64;
    assert!(
        (0.0..=slots).contains(&running),
        "{running} of {slots} slots"
    );

    // The public router has no /metrics.
    call(&app, "GET", "/metrics", None, None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    // And scraping is not a request of the public router.
    let again = scrape(&state).await;
    assert_eq!(sample(&again, &format!(r#"{lookups}"200"}}"#)), 3.0);
}

#[test]
fn the_binary_serves_metrics_only_on_the_metrics_address() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = free.local_addr().unwrap();
    drop(free);
    let metrics = metrics_addr.to_string();
    let (mut child, url) = launch(
        directory(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite::memory:",
            "--metrics-listen",
            &metrics,
        ],
    );
    let get = |url: &str| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let reply = reqwest::get(url).await.expect("request");
            (reply.status(), reply.text().await.unwrap_or_default())
        })
    };
    p2p_chat_directory::tls::install_crypto_provider();
    let (status, _) = get(&format!("{url}/ping"));
    assert_eq!(status, StatusCode::OK);
    let (status, text) = get(&format!("http://{metrics}/metrics"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sample(
            &text,
            r#"p2p_chat_directory_requests_total{route="/ping",method="GET",status="200"}"#
        ),
        1.0
    );
    let (status, _) = get(&format!("{url}/metrics"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    stop(&mut child);
}

#[test]
fn a_metrics_address_in_use_stops_the_start_before_the_listening_line() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let out = directory()
        .args(["--listen", &addr, "--metrics-listen", &addr])
        .args(["--database", "sqlite::memory:"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen for metrics on"), "{err}");
}

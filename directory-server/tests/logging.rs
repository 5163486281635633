//! Passwords and tokens never reach the log. A test binary of its own: tracing caches each
//! call site's interest for the whole process, so a thread-local subscriber can miss events
//! whose call sites other tests' threads registered at the same moment.

#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{PASSWORD, call, login, register, test_app};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// current_thread: every handler runs on this thread, under the thread-local subscriber.
#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_the_log() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = test_app().await;
    register(&app, "quinn", 1).await;
    let token = login(&app, "quinn").await;
    let wrong = "wrong-password-42";
    let reply = call(
        &app,
        "POST",
        "/login",
        Some(json!({"username": "quinn", "password": wrong})),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = call(&app, "POST", "/clients/quinn/heartbeat", None, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = call(
        &app,
        "PUT",
        "/clients/quinn",
        Some(json!({"host": "::1"})),
        Some(&token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let second = login(&app, "quinn").await;
    let reply = call(&app, "POST", "/logout", None, Some(&second)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let new_password = "brand new secret 7";
    let change = |old: &str, new: &str| Some(json!({"old_password": old, "new_password": new}));
    let path = "/clients/quinn/password";
    let reply = call(&app, "PUT", path, change(wrong, new_password), Some(&token)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = call(
        &app,
        "PUT",
        path,
        change(PASSWORD, new_password),
        Some(&token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = call(
        &app,
        "DELETE",
        "/clients/quinn",
        Some(json!({"password": new_password})),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("registered") && log.contains("logged in"),
        "{log}"
    );
    assert!(
        log.contains("/clients/quinn/heartbeat"),
        "requests are logged: {log}"
    );
    assert!(
        log.contains("logged out") && log.contains("password changed"),
        "{log}"
    );
    for secret in [
        PASSWORD,
        wrong,
        new_password,
        token.as_str(),
        second.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret:?} in log:\n{log}");
    }
}

use super::*;

const URL: &str = "http://dir.test:1";

#[test]
fn error_body_message_is_used() {
    let body = br#"{"error":"invalid_request","message":"host must be an IP address"}"#;
    let msg = error_message(StatusCode::BAD_REQUEST, body);
    assert_eq!(msg, "host must be an IP address");
}

#[test]
fn unknown_error_code_still_gives_the_message() {
    let body = br#"{"error":"rate_limited","message":"slow down","retry":3}"#;
    assert_eq!(
        error_message(StatusCode::TOO_MANY_REQUESTS, body),
        "slow down"
    );
}

#[test]
fn non_json_bodies_give_a_clear_line() {
    let s = StatusCode::BAD_GATEWAY;
    assert_eq!(error_message(s, b""), "Bad Gateway");
    assert_eq!(
        error_message(s, b"<html><body>nginx</body></html>"),
        "Bad Gateway"
    );
    assert_eq!(error_message(s, b"{\"error\":42}"), "{\"error\":42}");
    assert_eq!(
        error_message(s, b"\n  upstream down\nmore"),
        "upstream down"
    );
    assert_eq!(
        error_message(s, b"\xff\xfe bad utf8"),
        "\u{fffd}\u{fffd} bad utf8"
    );
    let long = "x".repeat(1000);
    let msg = error_message(s, long.as_bytes());
    assert_eq!(msg.chars().count(), MAX_MESSAGE_CHARS + 1);
}

#[test]
fn control_characters_are_neutralised() {
    let body = br#"{"error":"internal","message":"a\u001b[2Jb\r\nc"}"#;
    let msg = error_message(StatusCode::INTERNAL_SERVER_ERROR, body);
    assert_eq!(msg, "a [2Jb  c");
}

#[test]
fn statuses_map_to_causes_per_request() {
    let body = br#"{"error":"unauthorized","message":"bad"}"#;
    let err = |op, status| status_error(op, URL, status, body);
    let alice = "alice";
    assert!(matches!(
        err(Op::Register { username: alice }, StatusCode::CONFLICT),
        DirectoryError::UsernameTaken { username } if username == "alice"
    ));
    assert!(matches!(
        err(Op::Login, StatusCode::UNAUTHORIZED),
        DirectoryError::BadCredentials
    ));
    let unregister = Op::Unregister { username: alice };
    assert!(matches!(
        err(unregister, StatusCode::UNAUTHORIZED),
        DirectoryError::BadCredentials
    ));
    assert!(matches!(
        err(unregister, StatusCode::NOT_FOUND),
        DirectoryError::NotFound { .. }
    ));
    let authed = Op::Authed { username: alice };
    assert!(matches!(
        err(authed, StatusCode::UNAUTHORIZED),
        DirectoryError::TokenRejected
    ));
    assert!(matches!(
        err(authed, StatusCode::FORBIDDEN),
        DirectoryError::TokenRejected
    ));
    let lookup = Op::Lookup { username: alice };
    let not_found = err(lookup, StatusCode::NOT_FOUND);
    assert_eq!(
        not_found.to_string(),
        "no user named alice on the directory"
    );
    let list = Op::List { with_token: false };
    assert!(matches!(
        err(list, StatusCode::NOT_FOUND),
        DirectoryError::UnexpectedResponse { .. }
    ));
    assert!(matches!(
        err(Op::Register { username: alice }, StatusCode::PAYLOAD_TOO_LARGE),
        DirectoryError::Invalid { message } if message == "bad"
    ));
    assert!(matches!(
        err(Op::Ping, StatusCode::SERVICE_UNAVAILABLE),
        DirectoryError::Server { status: 503, .. }
    ));
    // A listing without a token needs a login; with one, the login went stale.
    assert!(matches!(
        err(list, StatusCode::UNAUTHORIZED),
        DirectoryError::LoginRequired
    ));
    assert!(matches!(
        err(Op::List { with_token: true }, StatusCode::UNAUTHORIZED),
        DirectoryError::TokenRejected
    ));
    assert!(matches!(
        err(Op::Logout, StatusCode::UNAUTHORIZED),
        DirectoryError::TokenRejected
    ));
}

#[test]
fn headers_tell_rate_limits_and_stale_tokens_apart() {
    use reqwest::header::{HeaderMap, HeaderValue};
    let body = br#"{"error":"unauthorized","message":"bad"}"#;
    let change = Op::PasswordChange { username: "alice" };
    let with = |name: &'static str, value: &'static str| {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    };
    let answer = |headers: &HeaderMap, status| answer_error(change, URL, status, headers, body);

    let stale = with("www-authenticate", "Bearer error=\"invalid_token\"");
    assert!(matches!(
        answer(&stale, StatusCode::UNAUTHORIZED),
        DirectoryError::TokenRejected
    ));
    let plain = with("www-authenticate", "Bearer");
    assert!(matches!(
        answer(&plain, StatusCode::UNAUTHORIZED),
        DirectoryError::WrongPassword
    ));

    let limited = answer(&with("retry-after", "7"), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        matches!(
            limited,
            DirectoryError::TooManyRequests {
                retry_after_secs: Some(7)
            }
        ),
        "{limited:?}"
    );
    assert!(
        limited.to_string().ends_with("try again in 7 s"),
        "{limited}"
    );
    let vague = answer(&HeaderMap::new(), StatusCode::TOO_MANY_REQUESTS);
    assert!(vague.to_string().ends_with("try again later"), "{vague}");
}

#[test]
fn messages_are_single_lines_that_say_what_to_do() {
    let unreachable = DirectoryError::Unreachable {
        url: URL.into(),
        detail: "Connection refused (os error 111)".into(),
    };
    let text = unreachable.to_string();
    assert!(text.starts_with("cannot reach the directory at http://dir.test:1: Connection"));
    assert!(text.ends_with("is the server running and the URL right?"));
    assert!(
        DirectoryError::TokenRejected
            .to_string()
            .contains("p2p-chat login")
    );
    let taken = DirectoryError::UsernameTaken {
        username: "bob".into(),
    };
    assert!(taken.to_string().contains("bob is already taken"));
}

//! Who may register (`--registration open|invite|closed`, invite codes) and disabled accounts,
//! through `app(state).oneshot(..)`. The invites are made by the operator's own command.

use axum::Router;
use axum::http::StatusCode;
use chrono::Utc;
use p2p_chat_directory::admin;
use p2p_chat_directory::config::{InviteCommand, UsersCommand};
use p2p_chat_directory::registration::Registration;
use p2p_chat_directory::{AppState, Settings, app};
use serde_json::json;

use crate::mailbox::deposit;
use crate::support::{PASSWORD, Reply, call, fast_settings, key, login, memory_state, register};

async fn directory(registration: Registration) -> (Router, AppState) {
    let state = memory_state(Settings {
        registration,
        ..fast_settings()
    })
    .await;
    (app(state.clone()), state)
}

/// Makes an invite with `invite create` and returns its code (the command's first line).
async fn invite(state: &AppState, uses: u32, expires: Option<std::time::Duration>) -> String {
    let command = InviteCommand::Create {
        uses,
        expires,
        note: Some("for a friend".into()),
    };
    let out = admin::invites(state.store().as_ref(), command, Utc::now())
        .await
        .expect("invite create");
    out.lines().next().expect("the code").to_owned()
}

async fn register_with(app: &Router, username: &str, invite: Option<&str>) -> Reply {
    let mut body = json!({
        "username": username, "password": PASSWORD, "host": "127.0.0.1", "port": 4000,
        "public_key": key(1),
    });
    if let Some(code) = invite {
        body["invite"] = json!(code);
    }
    call(app, "POST", "/register", Some(body), None).await
}

async fn uses(state: &AppState) -> Vec<u32> {
    let invites = state.store().invites().await.unwrap();
    invites.iter().map(|i| i.uses).collect()
}

#[tokio::test]
async fn an_open_directory_needs_no_code_and_ignores_one() {
    let (app, _) = directory(Registration::Open).await;
    register_with(&app, "alice", None).await;
    let reply = register_with(&app, "bob", Some("not a code at all")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn a_closed_directory_registers_nobody_even_with_a_code() {
    let (app, state) = directory(Registration::Closed).await;
    let code = invite(&state, 1, None).await;
    for code in [None, Some(code.as_str())] {
        let reply = register_with(&app, "alice", code).await;
        let message = reply.error(StatusCode::FORBIDDEN, "registration_closed");
        assert!(message.contains("operator"), "{message}");
    }
    assert!(state.store().client("alice").await.unwrap().is_none());
    assert_eq!(uses(&state).await, [0]);
}

#[tokio::test]
async fn an_invite_directory_asks_for_a_code_and_takes_it_once() {
    let (app, state) = directory(Registration::Invite).await;
    let reply = register_with(&app, "alice", None).await;
    let message = reply.error(StatusCode::FORBIDDEN, "invite_required");
    assert!(
        message.contains("invite code") && message.contains("--invite"),
        "{message}"
    );

    let code = invite(&state, 1, None).await;
    // Retyped in capitals with spaces: still the code.
    let retyped = code.replace('-', " ").to_uppercase();
    let reply = register_with(&app, "alice", Some(&retyped)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    login(&app, "alice").await;

    let reply = register_with(&app, "bob", Some(&code)).await;
    let message = reply.error(StatusCode::FORBIDDEN, "invite_invalid");
    assert!(
        message.contains("ask the directory's operator"),
        "{message}"
    );
    assert!(state.store().client("bob").await.unwrap().is_none());
}

#[tokio::test]
async fn garbage_oversize_expired_and_revoked_codes_register_nobody() {
    let (app, state) = directory(Registration::Invite).await;
    let long = "a".repeat(10_000);
    for garbage in ["", "   ", "zzzz-zzzz", "\u{0}\u{1b}[2J", long.as_str()] {
        let reply = register_with(&app, "alice", Some(garbage)).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{garbage:?}: {}",
            reply.text
        );
    }
    // A well-formed code nobody made.
    let made_up = "0123-4567-89ab-cdef-0123-4567";
    register_with(&app, "alice", Some(made_up))
        .await
        .error(StatusCode::FORBIDDEN, "invite_invalid");

    let revoked = invite(&state, 5, None).await;
    let out = admin::invites(
        state.store().as_ref(),
        InviteCommand::Revoke { id: 1 },
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(out.contains("revoked invite 1"), "{out}");
    register_with(&app, "alice", Some(&revoked))
        .await
        .error(StatusCode::FORBIDDEN, "invite_invalid");

    // Expires in a second; the store compares with the registration's time.
    let expiring = invite(&state, 5, Some(std::time::Duration::from_secs(1))).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    register_with(&app, "alice", Some(&expiring))
        .await
        .error(StatusCode::FORBIDDEN, "invite_invalid");
    assert_eq!(uses(&state).await, [0, 0]);
}

#[tokio::test]
async fn a_taken_name_leaves_the_invite_unused() {
    let (app, state) = directory(Registration::Invite).await;
    let first = invite(&state, 1, None).await;
    register_with(&app, "alice", Some(&first)).await;
    let second = invite(&state, 1, None).await;
    register_with(&app, "alice", Some(&second))
        .await
        .error(StatusCode::CONFLICT, "username_taken");
    assert_eq!(uses(&state).await, [1, 0]);
    let reply = register_with(&app, "bob", Some(&second)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_is_hidden_until_enabled() {
    let (app, state) = directory(Registration::Open).await;
    register(&app, "alice", 4000).await;
    register(&app, "bob", 4001).await;
    let alice = login(&app, "alice").await;
    let bob = login(&app, "bob").await;
    let users = |command| admin::users(state.store().as_ref(), command, Utc::now(), 4);
    let out = users(UsersCommand::Disable { name: "BOB".into() })
        .await
        .unwrap();
    assert!(out.starts_with("disabled bob"), "{out}");

    let body = json!({"username": "bob", "password": PASSWORD});
    let reply = call(&app, "POST", "/login", Some(body), None).await;
    let message = reply.error(StatusCode::FORBIDDEN, "account_disabled");
    assert!(message.contains("operator"), "{message}");
    // A wrong password still gets the usual answer: the state is only the owner's to learn.
    let body = json!({"username": "bob", "password": "wrong password here"});
    call(&app, "POST", "/login", Some(body), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Bob's login stops working; others cannot find or write to him.
    // Bob's login now says why it stops working.
    let message = call(&app, "GET", "/clients", None, Some(&bob))
        .await
        .error(StatusCode::FORBIDDEN, "account_disabled")
        .to_owned();
    assert!(message.contains("bob"), "{message}");
    call(&app, "GET", "/clients", None, Some("f".repeat(64).as_str()))
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    call(&app, "GET", "/clients/bob", None, Some(&alice))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let listing = call(&app, "GET", "/clients", None, Some(&alice)).await;
    assert_eq!(listing.status, StatusCode::OK);
    assert!(!listing.text.contains("\"bob\""), "{}", listing.text);
    deposit(&app, Some(&alice), "bob", b"sealed")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    // Nor may bob delete the account and free the name: only the operator may.
    let body = json!({"password": PASSWORD});
    call(&app, "DELETE", "/clients/bob", Some(body), None)
        .await
        .error(StatusCode::FORBIDDEN, "account_disabled");
    // The name stays taken.
    register_with(&app, "bob", None)
        .await
        .error(StatusCode::CONFLICT, "username_taken");

    users(UsersCommand::Enable { name: "bob".into() })
        .await
        .unwrap();
    let reply = call(&app, "GET", "/clients", None, Some(&bob)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    login(&app, "bob").await;
}

#[tokio::test]
async fn a_reset_password_ends_the_logins_and_the_printed_one_works() {
    let (app, state) = directory(Registration::Open).await;
    register(&app, "alice", 4000).await;
    let old = login(&app, "alice").await;
    let out = admin::users(
        state.store().as_ref(),
        UsersCommand::ResetPassword {
            name: "alice".into(),
        },
        Utc::now(),
        4,
    )
    .await
    .unwrap();
    let password = out.lines().next().unwrap();
    assert!(out.contains("p2p-chat passwd"), "{out}");
    call(&app, "GET", "/clients", None, Some(&old))
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let body = json!({"username": "alice", "password": PASSWORD});
    call(&app, "POST", "/login", Some(body), None)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let body = json!({"username": "alice", "password": password});
    let reply = call(&app, "POST", "/login", Some(body), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn users_commands_name_unknown_and_invalid_accounts() {
    let (_, state) = directory(Registration::Open).await;
    for (name, says) in [
        ("nobody", "users list"),
        ("x", "username"),
        ("../../etc", "username"),
    ] {
        let err = admin::users(
            state.store().as_ref(),
            UsersCommand::Show { name: name.into() },
            Utc::now(),
            4,
        )
        .await
        .expect_err(name);
        assert!(err.to_string().contains(says), "{name}: {err}");
    }
}

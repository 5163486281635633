//! Registering on a directory that takes new accounts by invitation only, and logging in to a
//! disabled account: what the user is told to ask the operator for.

use chrono::Utc;
use p2p_chat_directory::admin;
use p2p_chat_directory::config::{InviteCommand, UsersCommand};
use p2p_chat_directory::registration::Registration;
use p2p_chat_directory::state::Settings;
use tempfile::TempDir;

use crate::account_support::{
    Directory, PASSWORD, directory_with, no_profile, p2p, profile, register_args,
};

fn invite_only() -> Directory {
    directory_with(Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        registration: Registration::Invite,
        ..Default::default()
    })
}

/// A one-use invite code made with the operator's `invite create`.
fn invite(dir: &Directory) -> String {
    let made = operator(dir, async |store| {
        let create = InviteCommand::Create {
            uses: 1,
            expires: None,
            note: None,
        };
        admin::invites(store, create, Utc::now()).await.unwrap()
    });
    made.lines().next().unwrap().to_owned()
}

fn operator(
    dir: &Directory,
    run: impl AsyncFnOnce(&dyn p2p_chat_directory::Store) -> String,
) -> String {
    dir.runtime.block_on(run(dir.store.as_ref()))
}

#[test]
fn register_needs_the_operators_invite_code_and_says_so() {
    let dir = invite_only();
    let home = TempDir::new().unwrap();
    let home = home.path();
    let password = format!("{PASSWORD}\n");

    let out = p2p(home, &register_args("alice", &dir.url), &password);
    out.assert_error("invite code");
    out.assert_error("--invite CODE");
    assert!(no_profile(home), "nothing saved");

    let mut args = register_args("alice", &dir.url);
    args.extend(["--invite", "0000-0000-0000-0000-0000-0000"]);
    let out = p2p(home, &args, &password);
    out.assert_error("not valid");
    out.assert_error("ask the directory's operator");

    let code = invite(&dir);
    let mut args = register_args("alice", &dir.url);
    args.extend(["--invite", &code]);
    p2p(home, &args, &password).assert_ok();
    assert_eq!(profile(home)["username"], "alice");

    // The code is used up: a second friend needs their own.
    let other = TempDir::new().unwrap();
    let mut args = register_args("bob", &dir.url);
    args.extend(["--invite", &code]);
    p2p(other.path(), &args, &password).assert_error("used up");
}

#[test]
fn logging_in_to_a_disabled_account_names_the_operator() {
    let dir = invite_only();
    let home = TempDir::new().unwrap();
    let home = home.path();
    let code = invite(&dir);
    let mut args = register_args("alice", &dir.url);
    args.extend(["--invite", &code]);
    p2p(home, &args, &format!("{PASSWORD}\n")).assert_ok();
    operator(&dir, async |store| {
        let disable = UsersCommand::Disable {
            name: "alice".into(),
        };
        admin::users(store, disable, Utc::now(), 4).await.unwrap()
    });
    // The login it holds says so at once, rather than "log in again".
    let out = p2p(home, &["contacts"], "");
    out.assert_error("disabled");
    out.assert_error("operator");
    let out = p2p(
        home,
        &["login", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    out.assert_error("disabled");
    out.assert_error("operator");
}

//! Four people in a group, each in a chat window of their own (the real binary in a
//! pseudo-terminal): one makes the group, all of them post, one is away for a while and
//! finds what was said meanwhile, and every window shows the same conversation and members.

use std::time::Duration;

use crate::procs::{Directory, client_bin, free_port, register};
use crate::pty::Tui;

fn start(name: &str, home: &std::path::Path, port: u16) -> Tui {
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "--home",
        home.to_str().unwrap(),
        "--listen",
        &listen,
        "--no-bell",
    ];
    Tui::spawn(name, &client_bin(), &args)
}

/// A directory and the users `names`, registered, each with its home and listening port.
fn registered<const N: usize>(
    names: [&str; N],
) -> (
    tempfile::TempDir,
    Directory,
    [std::path::PathBuf; N],
    [u16; N],
) {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let homes = names.map(|n| tmp.path().join(n));
    let ports = names.map(|_| free_port());
    for i in 0..N {
        register(&homes[i], &directory, names[i], ports[i]);
    }
    (tmp, directory, homes, ports)
}

/// Whether the contact list shows `chat` with unread news (an invitation, a post).
fn unread_in(chat: &'static str) -> impl Fn(&str) -> bool {
    move |screen| {
        // The contact list is the left pane: each screen line up to `││`.
        screen
            .lines()
            .filter_map(|l| l.split("││").next())
            .any(|contact| contact.contains(chat) && contact.contains('('))
    }
}

/// Where `text` starts on `screen` (its row), for comparing orders.
fn row(screen: &str, text: &str) -> usize {
    screen
        .lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{screen}"))
}

#[test]
fn four_windows_chat_in_a_group_one_of_them_on_and_off() {
    let names = ["alice", "bob", "carol", "dave"];
    let (tmp, directory, homes, ports) = registered(names);
    register(&tmp.path().join("erin"), &directory, "erin", free_port());
    let [mut alice, mut bob, mut carol, mut dave] =
        [0, 1, 2, 3].map(|i| start(names[i], &homes[i], ports[i]));
    for tui in [&mut alice, &mut bob, &mut carol, &mut dave] {
        tui.wait_for("directory: online");
        tui.wait_for("erin");
    }

    // alice makes the group from the directory's contact list; her window opens its chat.
    alice.type_text("/group new team bob carol dave\r");
    alice.wait_for("you created team");
    alice.type_text("hello team\r");
    alice.wait_for("hello team ✓ 3/3");
    // With no conversation on their screens, each member's window shows the group as the
    // invitation comes.
    for tui in [&mut bob, &mut carol, &mut dave] {
        tui.wait_for("#team — group of 4");
        tui.wait_for("alice added you to team");
        tui.wait_for("hello team");
    }
    bob.type_text("hi from bob\r");
    bob.wait_for("hi from bob ✓ 3/3");
    for tui in [&mut alice, &mut carol, &mut dave] {
        tui.wait_for("hi from bob");
    }

    // dave goes away; carol says something meanwhile, which waits for him.
    dave.quit();
    carol.type_text("while dave is away\r");
    carol.wait_for("while dave is away ○ 2/3");
    alice.wait_for("while dave is away");
    bob.wait_for("while dave is away");
    // dave is back: carol's window sees him online and delivers what waited.
    let mut dave = start("dave", &homes[3], ports[3]);
    dave.wait_for("directory: online");
    carol.wait_longer("dave's receipt", Duration::from_secs(60), |s| {
        s.contains("while dave is away ✓ 3/3")
    });
    dave.wait_until("#team, unread", unread_in("#team"));
    dave.type_text("\x1ba");
    dave.wait_for("while dave is away");
    // The group's notices are kept: the invitation is still told after the restart.
    dave.wait_for("alice added you to team");
    dave.type_text("back again\r");
    dave.wait_for("back again ✓ 3/3");

    // Everyone shows the same conversation, in the same order, and the same members.
    let said = [
        "hello team",
        "hi from bob",
        "while dave is away",
        "back again",
    ];
    for tui in [&mut alice, &mut bob, &mut carol, &mut dave] {
        tui.wait_for("back again");
        let screen = tui.contents();
        let rows: Vec<usize> = said.iter().map(|t| row(&screen, t)).collect();
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "order: {rows:?}\n{screen}"
        );
        assert_eq!(members_shown(tui), names);
    }

    // Two admins change the group at the same time while dave is away: alice removes carol
    // while bob, made an admin, invites erin (registered, not running). Everyone still in it
    // ends with the same members.
    alice.type_text("/admin bob\r");
    bob.wait_for("alice made you an admin");
    dave.quit();
    alice.type_text("/remove carol\r");
    bob.type_text("/invite erin\r");
    carol.wait_for("alice removed you");
    let mut dave = start("dave", &homes[3], ports[3]);
    dave.wait_for("directory: online");
    // Ctrl+F filters the contact list; Enter keeps the filter, Enter again opens the group.
    dave.wait_for("#team");
    dave.type_text("\x06#team\r\r");
    dave.wait_for("message #team");
    for tui in [&mut alice, &mut bob, &mut dave] {
        let mut members = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while members != ["alice", "bob", "dave", "erin"] {
            assert!(
                std::time::Instant::now() < deadline,
                "members never converged: {members:?}\n{}",
                tui.contents()
            );
            std::thread::sleep(Duration::from_millis(300));
            members = members_shown(tui);
        }
    }
    for tui in [alice, bob, carol, dave] {
        tui.quit();
    }
}

/// Asks `tui`'s shown group chat for `/members` and reads the names it lists.
fn members_shown(tui: &mut Tui) -> Vec<String> {
    const HEADER: &str = "members of team (created by alice):";
    let before = tui.contents().matches(HEADER).count();
    tui.type_text("/members\r");
    tui.wait_until("the member list", |s| s.matches(HEADER).count() > before);
    let screen = tui.contents();
    let listed = screen.rsplit(HEADER).next().unwrap_or_default();
    listed
        .lines()
        .skip(1)
        .filter_map(|line| line.split("-- ").nth(1))
        .filter_map(|rest| rest.split([' ', ',']).next())
        .map(str::to_owned)
        .collect()
}

/// Runs `f` on `home`'s store (its window may keep running: SQLite takes readers beside it).
fn on_store<T>(home: &std::path::Path, f: impl AsyncFnOnce(p2p_chat::store::LocalStore) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = p2p_chat::store::LocalStore::open(home).await.unwrap();
        f(store).await
    })
}

/// Polls `home`'s store until `check` holds.
fn wait_for_store(
    home: &std::path::Path,
    what: &str,
    check: impl AsyncFn(&p2p_chat::store::LocalStore) -> bool,
) {
    on_store(home, async |store| {
        let deadline = std::time::Instant::now() + crate::pty::PATIENCE;
        while !check(&store).await {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting: {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

/// Every group frame waiting for `member` is sealed in the mailbox.
async fn all_deposited_for(store: &p2p_chat::store::LocalStore, member: &str) -> bool {
    let waiting = store.group_members_waiting().await.unwrap();
    let left = store.group_undeposited(member).await.unwrap();
    waiting.iter().any(|m| m == member) && left.is_empty()
}

/// Nothing waits for any member.
async fn nothing_waits(store: &p2p_chat::store::LocalStore) -> bool {
    store.group_members_waiting().await.unwrap().is_empty()
}

#[test]
fn a_member_who_was_never_online_finds_the_group_in_the_mailbox() {
    let names = ["alice", "bob", "carol"];
    let (_tmp, _directory, homes, ports) = registered(names);
    // carol is not running: alice's window cannot reach her.
    let mut alice = start("alice", &homes[0], ports[0]);
    let mut bob = start("bob", &homes[1], ports[1]);
    for tui in [&mut alice, &mut bob] {
        tui.wait_for("directory: online");
        tui.wait_for("carol");
    }
    alice.type_text("/group new trio bob carol\r");
    alice.wait_for("you created trio");
    alice.type_text("while carol sleeps\r");
    // bob has it (over a session, or by mail should the first dial fail on a busy machine).
    alice.wait_longer("bob's receipt", Duration::from_secs(60), |s| {
        s.contains("while carol sleeps ○ 1/2")
    });
    // What waits for carol is left sealed in the directory's mailbox; then alice is gone too.
    wait_for_store(&homes[0], "carol's frames in the mailbox", async |store| {
        all_deposited_for(store, "carol").await
    });
    alice.quit();

    let mut carol = start("carol", &homes[2], ports[2]);
    carol.wait_for("#trio — group of 3");
    carol.wait_for("alice added you to trio");
    carol.wait_for("alice while carol sleeps");
    // carol answers: bob is online and gets it directly.
    carol.type_text("morning\r");
    bob.wait_for("#trio — group of 3");
    bob.wait_for("carol morning");
    for tui in [bob, carol] {
        tui.quit();
    }
}

/// The posts of the group `name`'s conversation in `home`'s store (its notices left out),
/// oldest first, with whether each is ours.
fn conversation(home: &std::path::Path, name: &str) -> Vec<(String, bool)> {
    on_store(home, async |store| {
        let me = p2p_chat_protocol::group::Member {
            username: String::new(),
            key: [0; 32],
        };
        let groups = p2p_chat::groups::Groups::load(store.clone(), me)
            .await
            .unwrap();
        let id = groups.find(name).unwrap();
        let key = p2p_chat::store::conversation_key(id);
        let all = store.page_after(&key, 0, u32::MAX).await.unwrap();
        all.into_iter()
            .filter(|m| !m.notice)
            .map(|m| (m.text, m.outgoing))
            .collect()
    })
}

#[test]
fn posts_arrive_once_each_in_the_senders_order_when_either_side_is_killed() {
    let names = ["alice", "bob"];
    let (_tmp, _directory, homes, ports) = registered(names);
    let mut alice = start("alice", &homes[0], ports[0]);
    let mut bob = start("bob", &homes[1], ports[1]);
    alice.wait_for("directory: online");
    bob.wait_for("directory: online");
    alice.wait_for("bob");
    alice.type_text("/group new pair bob\r");
    alice.wait_for("you created pair");
    bob.wait_for("#pair");

    // A burst from alice; bob is killed in the middle of it and started again.
    let lines = |what: &str, range: std::ops::RangeInclusive<u32>| -> String {
        range.map(|n| format!("{what} {n:02}\r")).collect()
    };
    alice.type_text(&lines("first", 1..=5));
    alice.wait_until("first 05 stored", |s| {
        s.contains("first 05 ○") || s.contains("first 05 ✓")
    });
    bob.crash();
    alice.type_text(&lines("first", 6..=40));
    alice.wait_for("first 40");
    let mut bob = start("bob", &homes[1], ports[1]);
    bob.wait_for("directory: online");
    wait_for_store(&homes[0], "bob has the first burst", nothing_waits);

    // A second burst; this time alice is killed in the middle of it and started again.
    alice.type_text(&lines("second", 1..=5));
    alice.wait_until("second 05 stored", |s| {
        s.contains("second 05 ○") || s.contains("second 05 ✓")
    });
    alice.type_text(&lines("second", 6..=40));
    alice.crash();
    let mut alice = start("alice", &homes[0], ports[0]);
    alice.wait_for("directory: online");
    wait_for_store(&homes[0], "bob has what alice stored", nothing_waits);
    alice.quit();
    bob.quit();

    // bob holds exactly what alice stored as sent, each once, in her order.
    let sent: Vec<String> = conversation(&homes[0], "pair")
        .into_iter()
        .filter(|(_, ours)| *ours)
        .map(|(text, _)| text)
        .collect();
    let got: Vec<String> = conversation(&homes[1], "pair")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(got, sent);
    let first: Vec<String> = (1..=40).map(|n| format!("first {n:02}")).collect();
    assert_eq!(sent[..40], first[..], "the whole first burst");
    assert!(
        sent.len() >= 45,
        "the second burst up to its 5th post was stored before the kill"
    );
}

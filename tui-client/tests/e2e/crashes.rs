//! The sender's order, whatever crashed: many rounds of a burst typed in alice's chat window
//! to bob's `listen`, with the sender or the receiver killed (SIGKILL) at a random point of
//! each burst and restarted. After every round bob's history holds exactly alice's stored
//! messages, each once, in alice's order.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::procs::{Directory, alice_and_bob, client_bin, history_json};
use crate::pty::{PATIENCE, Tui};

const ROUNDS: usize = 8;
const BURST: usize = 25;

/// A small xorshift generator; the seed is printed so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn window(home: &Path, port: u16) -> Tui {
    let listen = format!("127.0.0.1:{port}");
    Tui::spawn(
        "alice",
        &client_bin(),
        &["--home", home.to_str().unwrap(), "--listen", &listen],
    )
}

fn listen(home: &Path, port: u16) -> Child {
    Command::new(client_bin())
        .args(["--home", home.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}"), "listen"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn kill(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The texts `from` ("me" for the profile itself) wrote in `home`'s conversation with
/// `peer`, in stored order.
fn written(home: &Path, peer: &str, from: &str) -> Vec<String> {
    history_json(home, peer)
        .into_iter()
        .filter(|v| v["from"] == from)
        .map(|v| v["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn bursts_keep_the_senders_order_exactly_once_when_either_side_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).unwrap();
    let seed = u64::from_le_bytes(seed) | 1;
    eprintln!("crash rounds seed: {seed:#x}");
    let mut rng = Rng(seed);

    let mut bob = listen(&bob_home, bob_port);
    let mut alice = window(&alice_home, alice_port);
    alice.wait_for("directory: online");
    alice.type_text("/connect bob\r");
    alice.wait_for("connected to bob");
    let mut kills = [0usize; 2];
    for round in 0..ROUNDS {
        let burst: String = (0..BURST).map(|i| format!("r{round}-m{i:02}\r")).collect();
        alice.type_text(&burst);
        std::thread::sleep(Duration::from_millis(rng.next() % 400));
        let receiver_killed = rng.next().is_multiple_of(2);
        if receiver_killed {
            kills[0] += 1;
            kill(&mut bob);
            bob = listen(&bob_home, bob_port);
        } else {
            kills[1] += 1;
            alice.crash();
            alice = window(&alice_home, alice_port);
            alice.wait_for("directory: online");
            alice.type_text("/connect bob\r");
            alice.wait_for("connected to bob");
        }
        // Converged: bob holds exactly what alice stored, in alice's order. A window killed
        // mid-burst stored only what it had taken in (maybe nothing); one that kept running
        // stores the whole burst.
        let deadline = Instant::now() + 3 * PATIENCE;
        let prefix = format!("r{round}-");
        loop {
            let sent = written(&alice_home, "bob", "me");
            let got = written(&bob_home, "alice", "alice");
            let this_round = sent.iter().filter(|t| t.starts_with(&prefix)).count();
            if got == sent && (!receiver_killed || this_round == BURST) {
                let unique: std::collections::HashSet<_> = got.iter().collect();
                assert_eq!(unique.len(), got.len(), "a message stored twice");
                break;
            }
            // What bob has is always a prefix of alice's order, never a reordering.
            assert!(
                sent.starts_with(&got) || got.len() > sent.len(),
                "round {round} (seed {seed:#x}): bob's order differs from alice's\n\
                 alice: {sent:?}\nbob:   {got:?}"
            );
            assert!(
                Instant::now() < deadline,
                "round {round} (seed {seed:#x}) never converged\nalice: {sent:?}\nbob:   {got:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    eprintln!(
        "receiver killed {} times, sender {} times",
        kills[0], kills[1]
    );
    let total = written(&bob_home, "alice", "alice").len();
    assert!(total >= ROUNDS, "only {total} messages went through");
    alice.quit();
    kill(&mut bob);
}

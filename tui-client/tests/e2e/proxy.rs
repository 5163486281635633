//! The reverse proxy configurations of docs/deploy.md, as written there, with Debian's nginx
//! and Caddy in front of the real directory: the signaling WebSocket and the relay pass
//! through them (HTTP upgrades), and the directory learns each client's source port from them
//! (what hole punching needs).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::procs::{Directory, Running, client_bin, free_port, register_at, run_client};

/// The block that starts at the line containing `start` in `text`, through its matching `}`.
pub(crate) fn block(text: &str, start: &str) -> String {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in deploy.md"));
    let mut depth = 0;
    for (i, c) in text[at..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return text[at..=at + i].to_owned();
                }
            }
            _ => {}
        }
    }
    panic!("{start:?} is not closed in deploy.md")
}

/// docs/deploy.md.
pub(crate) fn deploy_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/deploy.md"))
        .expect("docs/deploy.md")
}

/// The example of deploy.md in the first code fence for `language` that passes to the
/// directory's address (127.0.0.1:27182), with that address replaced by `upstream`.
fn example(language: &str, upstream: &str) -> String {
    let deploy = deploy_md();
    let fence = format!("```{language}\n");
    let example = deploy
        .match_indices(&fence)
        .map(|(at, _)| {
            let example = &deploy[at + fence.len()..];
            &example[..example.find("```").expect("a closed fence")]
        })
        .find(|example| example.contains("127.0.0.1:27182"))
        .unwrap_or_else(|| panic!("no {language} example passing to 127.0.0.1:27182 in deploy.md"));
    example.replace("127.0.0.1:27182", upstream)
}

/// Waits until `port` on loopback accepts connections.
fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// nginx on a free port of 127.0.0.1 and ::1 with deploy.md's `location` and `map` blocks,
/// passing to `directory`; the port.
fn nginx_in_front_of(directory: &Directory, dir: &Path) -> (Running, u16) {
    let port = free_port();
    let upstream = directory.url.trim_start_matches("http://");
    (nginx(dir, "", &[(port, upstream.to_owned())]), port)
}

/// nginx with `http` (upstream blocks, say) in its http block, and for each `(port, target)` a
/// server on 127.0.0.1 and ::1 at `port` with deploy.md's `location` block passing to
/// `http://target` (an address, or an upstream's name), and deploy.md's `map` blocks.
pub(crate) fn nginx(dir: &Path, http: &str, fronts: &[(u16, String)]) -> Running {
    let example = example("nginx", "DIRECTORY");
    let location = block(&example, "location / {");
    // Every `map` block (they go in the http block).
    let maps: Vec<String> = example
        .match_indices("map $")
        .map(|(at, _)| block(&example[at..], "map $"))
        .collect();
    let map = maps.join("\n");
    let servers: String = fronts
        .iter()
        .map(|(port, target)| {
            let location = location.replace("DIRECTORY", target);
            format!(
                "server {{\n listen 127.0.0.1:{port};\n listen [::1]:{port};\n {location}\n}}\n"
            )
        })
        .collect();
    let d = dir.display();
    let conf = format!(
        "user root;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/nginx-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    {map}
    {http}
    {servers}
}}
"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-e")
        .arg(dir.join("nginx-error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nginx (Debian's nginx-light)");
    let running = Running(child);
    for (port, _) in fronts {
        wait_listening(*port, "nginx");
    }
    running
}

/// Caddy on a free port of 127.0.0.1 and ::1 with deploy.md's site, served over plain HTTP
/// there (no certificate to fetch in a test), passing to `directory`; the port.
fn caddy_in_front_of(directory: &Directory, dir: &Path) -> (Running, u16) {
    let port = free_port();
    let upstream = directory.url.trim_start_matches("http://");
    let site = example("caddyfile", upstream).replace(
        "directory.example.org {",
        &format!("http://127.0.0.1:{port}, http://[::1]:{port} {{\n    bind 127.0.0.1 [::1]"),
    );
    let conf = format!(
        "{{\n    admin off\n    storage file_system {}\n}}\n{site}",
        dir.join("caddy").display()
    );
    let path = dir.join("Caddyfile");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("caddy-data"))
        .env("XDG_CONFIG_HOME", dir.join("caddy-config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start caddy (Debian's caddy)");
    let running = Running(child);
    wait_listening(port, "caddy");
    (running, port)
}

#[test]
fn behind_nginx_as_deploy_md_configures_it_signaling_ports_and_the_relay_work() {
    behind_a_proxy(nginx_in_front_of);
}

#[test]
fn behind_caddy_as_deploy_md_configures_it_signaling_ports_and_the_relay_work() {
    behind_a_proxy(caddy_in_front_of);
}

/// bob's `listen` and alice's `send` through the proxy `start` puts in front of a directory:
/// alice over IPv4, bob over IPv6 (his address written in brackets, or his port is lost).
fn behind_a_proxy(start: fn(&Directory, &Path) -> (Running, u16)) {
    let tmp = tempfile::tempdir().unwrap();
    // Punching off, and bob published at a port where he does not listen: the relay it is.
    let directory = Directory::start_with(
        tmp.path(),
        "127.0.0.1:0",
        &["--trusted-proxy", "127.0.0.1", "--hole-punching", "off"],
    );
    let (_proxy, port) = start(&directory, tmp.path());
    let (alice, bob) = (tmp.path().join("alice"), tmp.path().join("bob"));
    register_at(
        &alice,
        &format!("http://127.0.0.1:{port}"),
        "alice",
        free_port(),
    );
    register_at(&bob, &format!("http://[::1]:{port}"), "bob", free_port());
    let bob_port = free_port();
    let listen = format!("127.0.0.1:{bob_port}");
    let mut child = Command::new(client_bin())
        .args([
            "--home",
            bob.to_str().unwrap(),
            "--listen",
            &listen,
            "listen",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = BufReader::new(child.stdout.take().unwrap());
    let mut said = BufReader::new(child.stderr.take().unwrap()).lines();
    let _listening = Running(child);
    // The WebSocket passed through the proxy, which told the directory bob's source port: the
    // port of his listener, where the signaling connection leaves from.
    let seen = said
        .find(|l| {
            l.as_ref()
                .is_ok_and(|l| l.contains("the directory sees this client"))
        })
        .expect("a welcome through the proxy")
        .unwrap();
    assert!(seen.ends_with(&format!("at [::1]:{bob_port}")), "{seen}");
    std::thread::spawn(move || said.for_each(drop));
    let home = alice.to_str().unwrap();
    let out = run_client(
        &["--home", home, "send", "--json", "bob", "via the proxy"],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["path"], "relayed", "{summary}");
    let line = printed
        .lines()
        .next()
        .expect("bob printed the message")
        .unwrap();
    assert!(line.contains("via the proxy"), "{line}");
}

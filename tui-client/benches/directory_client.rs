//! Benchmark: setting up the directory client for an `http://` directory, which loads no TLS
//! roots, against an `https://` one, which loads the system's roots, in the same process.
//! Every `send` or `lookup` pays this once. Prints the times and their ratio; no thresholds.
//!
//! Run: `cargo bench -p p2p-chat --bench directory_client`

use std::time::{Duration, Instant};

use p2p_chat::directory::DirectoryClient;

const ROUNDS: usize = 50;

fn median_setup(url: &str) -> Duration {
    let mut samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let at = Instant::now();
            let client = DirectoryClient::new(url).expect("client");
            let took = at.elapsed();
            drop(client);
            took
        })
        .collect();
    samples.sort();
    samples[ROUNDS / 2]
}

fn main() {
    // Warm-up of both, then the measured runs.
    let _ = median_setup("http://127.0.0.1:27182");
    let _ = median_setup("https://127.0.0.1:27182");
    let http = median_setup("http://127.0.0.1:27182");
    let https = median_setup("https://127.0.0.1:27182");
    println!(
        "client for http://:  {:>8.1} µs (no TLS roots)",
        http.as_secs_f64() * 1e6
    );
    println!(
        "client for https://: {:>8.1} µs (system roots)",
        https.as_secs_f64() * 1e6
    );
    println!(
        "http / https:        {:.3}x",
        http.as_secs_f64() / https.as_secs_f64()
    );
}

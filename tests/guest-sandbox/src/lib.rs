//! A backup component that tests the sandbox instead of backing anything up: its supervisor
//! starts one worker per misbehaviour — spinning without calling the host, allocating past the
//! memory limit (abruptly and gently), reaching for files, sockets and the environment — plus
//! one well-behaved worker, joins them all and writes what became of each to the state file
//! `sandbox-report` (`<role>: Ok(())` or `<role>: Err(<why>)`). A worker that gets through
//! the sandbox returns an error starting with "sandbox escape". The `flaky` worker traps in its
//! first life and finishes in its second, to show that the host starts a trapped worker again.

#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({
        world: "backup",
        path: "../../wit",
        default_bindings_module: "crate::bindings",
    });
}

use bindings::azul::backup::log::{self, Level};
use bindings::azul::backup::{statedir, tasks};
use bindings::{BackupConfig, Guest};

const ROLES: [&str; 8] = [
    "spin",
    "hog",
    "hog-gently",
    "files",
    "sockets",
    "env",
    "flaky",
    "ok",
];

struct Component;

fn say(message: &str) {
    log::log(Level::Info, message);
}

fn escape(what: &str) -> Result<(), String> {
    Err(format!("sandbox escape: {what}"))
}

fn files() -> Result<(), String> {
    for path in ["/", "/etc/passwd", ".", "/tmp"] {
        if let Ok(entries) = std::fs::read_dir(path) {
            return escape(&format!("listed {path} ({} entries)", entries.count()));
        }
        if std::fs::read(path).is_ok() {
            return escape(&format!("read {path}"));
        }
    }
    match std::fs::write("/tmp/guest-sandbox-was-here", b"x") {
        Ok(()) => escape("created /tmp/guest-sandbox-was-here"),
        Err(e) => {
            say(&format!("files: every access refused (last: {e})"));
            Ok(())
        }
    }
}

fn sockets() -> Result<(), String> {
    for addr in ["127.0.0.1:8333", "127.0.0.1:22", "1.1.1.1:53"] {
        if std::net::TcpStream::connect(addr).is_ok() {
            return escape(&format!("connected to {addr}"));
        }
    }
    match std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.send_to(b"x", "127.0.0.1:53")) {
        Ok(_) => escape("sent a UDP datagram"),
        Err(e) => {
            say(&format!("sockets: every connection refused (last: {e})"));
            Ok(())
        }
    }
}

fn env() -> Result<(), String> {
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args = std::env::args().count();
    if !vars.is_empty() {
        return escape(&format!("sees environment variables {vars:?}"));
    }
    say(&format!("env: no variables, {args} arguments"));
    Ok(())
}

/// Reserves 8 MiB blocks until the host refuses more memory, then reports how far it got.
fn hog_gently() -> Result<(), String> {
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block: Vec<u8> = Vec::new();
        if block.try_reserve_exact(8 << 20).is_err() {
            say(&format!("hog-gently: refused after {} MiB", held.len() * 8));
            return Ok(());
        }
        block.resize(8 << 20, 1);
        held.push(block);
        if held.len() > 1024 {
            return escape("allocated 8 GiB");
        }
    }
}

/// Allocates without checking: the failed allocation aborts the guest (a trap).
fn hog() -> Result<(), String> {
    let mut held: Vec<Vec<u8>> = Vec::new();
    for _ in 0..1024 {
        held.push(vec![1u8; 8 << 20]);
    }
    escape(&format!("allocated {} MiB", held.len() * 8))
}

/// Traps unless an earlier life of this worker left its mark in the state directory.
fn flaky() -> Result<(), String> {
    if statedir::read("flaky-lives")
        .map_err(|e| e.message)?
        .is_some()
    {
        say("flaky: second life, finishing");
        return Ok(());
    }
    statedir::append_line("flaky-lives", "1").map_err(|e| e.message)?;
    panic!("flaky: first life traps");
}

fn spin() -> Result<(), String> {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

impl Guest for Component {
    fn run(_config: BackupConfig) -> Result<(), String> {
        let started: Vec<(&str, Result<tasks::Task, String>)> = ROLES
            .iter()
            .map(|role| (*role, tasks::spawn(role, &[]).map_err(|e| e.message)))
            .collect();
        let mut report = String::new();
        for (role, task) in started {
            let outcome = task.and_then(|t| t.join());
            report.push_str(&format!("{role}: {outcome:?}\n"));
        }
        statedir::write_atomic("sandbox-report", &report).map_err(|e| e.message)
    }

    fn run_worker(role: String, _args: Vec<u8>) -> Result<(), String> {
        match role.as_str() {
            "spin" => spin(),
            "hog" => hog(),
            "hog-gently" => hog_gently(),
            "files" => files(),
            "sockets" => sockets(),
            "env" => env(),
            "flaky" => flaky(),
            "ok" => statedir::write_atomic("ok-worker", "finished").map_err(|e| e.message),
            other => Err(format!("unknown role {other}")),
        }
    }

    fn version() -> String {
        concat!("guest-sandbox ", env!("CARGO_PKG_VERSION")).to_string()
    }
}

bindings::export!(Component with_types_in bindings);

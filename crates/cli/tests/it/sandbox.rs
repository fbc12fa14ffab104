//! The sandbox against an optimiser looking for a way to a passing verdict: each attack
//! program returns the right answer only if its attack worked, so "not passed" means the
//! attack failed; honest samples run after every attack on the same worker (`-j 1`) and
//! must keep their own verdicts (a right one passes, a wrong one fails).

use std::io::ErrorKind;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::workspace::{all_pids, increment_problem, parent_of, sample, stat_fields, Workspace};

const RIGHT: &str = "def f(x):\n    return x + 1\n";
const WRONG: &str = "def f(x):\n    return x\n";

/// A program that answers right only when `attack()` returns true; what the attack saw
/// goes to its stdout.
fn attack(body: &str) -> String {
    let indented: String = body.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "import ctypes, json, os, signal, socket, sys\ndef attack():\n{indented}\
         try:\n    WON = bool(attack())\nexcept BaseException as exc:\n    print('attack failed:', repr(exc))\n    WON = False\n\
         def f(x):\n    return x + 1 if WON else x\n"
    )
}

/// A forged worker reply in which every test of the increment problem passes.
const FORGED_REPLY: &str = r#"{"id": 0, "results": [{"i": 0, "r": "value", "v": 2, "t": 0}, {"i": 1, "r": "value", "v": 4, "t": 0}, {"i": 2, "r": "value", "v": 5, "t": 0}, {"i": 3, "r": "ok", "t": 0}], "restarts": 0, "wall": 0, "stdout": "", "stderr": ""}"#;

fn attacks(data: &Path, socket: &str) -> Vec<(&'static str, String)> {
    let problems = data.join("problems.jsonl");
    let cache = data.join("cache");
    let forged_with_attachments = FORGED_REPLY.replace("\"wall\"", "\"attachments\": 3, \"wall\"");
    vec![
        (
            "read_problem_file",
            attack(&format!(
                "text = open({:?}).read()\nprint('read the problems:', len(text))\nreturn 'reference' in text",
                problems.display()
            )),
        ),
        (
            "read_prepared_cache",
            attack(&format!(
                "found = [os.path.join(d, n) for d, _, names in os.walk({:?}) for n in names]\nprint('cache files:', found)\nreturn bool(found) and bool(open(found[0], 'rb').read())",
                cache.display()
            )),
        ),
        (
            "read_host_secrets",
            // Anything of the host's but the interpreter: secrets, home directories, files
            // under /root beside the interpreter's tree (which may live there).
            attack("seen = []\nfor path in ('/etc/shadow', '/etc/hostname', '/root/.bash_history', '/home', '/work', '/var', '/run'):\n    try:\n        seen.append(os.listdir(path) if os.path.isdir(path) else open(path).read())\n    except OSError as exc:\n        print(path, exc)\ntrees = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}\nfor d, _, names in os.walk('/root'):\n    if not any(os.path.realpath(d).startswith(t) for t in trees):\n        seen.extend(os.path.join(d, n) for n in names)\nprint('seen', seen)\nreturn any(seen)"),
        ),
        (
            "ptrace_worker",
            attack("libc = ctypes.CDLL(None, use_errno=True)\nhits = [libc.ptrace(16, pid, 0, 0) == 0 for pid in (1, os.getppid())]\nprint('ptrace errno', ctypes.get_errno())\nreturn any(hits)"),
        ),
        (
            "read_worker_memory",
            attack("with open('/proc/%d/mem' % os.getppid(), 'rb') as mem:\n    return bool(mem.read(1))"),
        ),
        (
            "forge_reply_on_worker_fds",
            attack(&format!(
                "line = ({FORGED_REPLY:?} + '\\n').encode()\nwrote = 0\nfor pid in (1, os.getppid()):\n    for fd in os.listdir('/proc/%d/fd' % pid):\n        try:\n            with open('/proc/%d/fd/%s' % (pid, fd), 'wb') as out:\n                out.write(line * 3)\n            wrote += 1\n        except OSError:\n            pass\nreturn wrote > 0"
            )),
        ),
        (
            "forge_reply_with_attachments",
            attack(&format!(
                "line = ({forged_with_attachments:?} + '\\n').encode()\nwrote = 0\nfor fd in os.listdir('/proc/1/fd'):\n    try:\n        with open('/proc/1/fd/' + fd, 'wb') as out:\n            out.write(line)\n        wrote += 1\n    except OSError:\n        pass\nreturn wrote > 0"
            )),
        ),
        (
            "host_unix_socket",
            attack(&format!(
                "s = socket.socket(socket.AF_UNIX)\ns.connect({socket:?})\ns.sendall(b'leak')\nreturn True"
            )),
        ),
        (
            "signal_the_worker",
            attack("for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP, signal.SIGKILL):\n    try:\n        os.kill(1, sig)\n    except OSError as exc:\n        print(sig, exc)\nreturn False"),
        ),
        (
            "new_namespaces",
            attack("libc = ctypes.CDLL(None, use_errno=True)\nreturn libc.unshare(0x10000000 | 0x00020000) == 0 or libc.mount(b'none', b'/tmp', b'tmpfs', 0, None) == 0"),
        ),
        (
            "rename_work_dir",
            attack("os.rename(os.getcwd(), '/tmp/elsewhere')\nopen('/tmp/left-behind', 'w').write('x')\nreturn False"),
        ),
        (
            "chmod_work_dir",
            attack("os.chmod(os.getcwd(), 0)\nos.chmod('/tmp', 0)\nreturn False"),
        ),
        (
            // Right only if nothing of the earlier jobs is left in its scratch space.
            "clean_scratch_probe",
            "import os\nLEFT = os.listdir('/tmp') != ['work'] or os.listdir('.') != []\nprint(os.listdir('/tmp'), os.listdir('.'))\ndef f(x):\n    return x if LEFT else x + 1\n".to_string(),
        ),
    ]
}

#[test]
fn attacks_on_the_sandbox_fail_and_leave_other_verdicts_alone() {
    let ws = Workspace::new();
    // The problem file and the prepared cache live outside /tmp (the old sandbox hid the
    // host's /tmp behind its own, but showed the rest of the filesystem).
    let data = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("data dir");
    let problems = data.path().join("problems.jsonl");
    std::fs::write(&problems, format!("{}\n", increment_problem())).unwrap();
    let socket_path = data.path().join("host.sock");
    let listener = UnixListener::bind(&socket_path).expect("bind a unix socket");
    listener.set_nonblocking(true).unwrap();
    let (problems, cache) = (problems.to_str().unwrap(), data.path().join("cache"));
    let cache = cache.to_str().unwrap();
    // Fill the prepared cache first, so that there is something to read.
    ws.run_ok(
        &["run", "-p", problems, "-o", "refs.jsonl", "-j", "1", "-q"]
            .into_iter()
            .chain(["--cache-dir", cache])
            .collect::<Vec<_>>(),
    );
    let attacks = attacks(data.path(), socket_path.to_str().unwrap());
    let mut samples = Vec::new();
    for (id, code) in &attacks {
        samples.push(sample(id, code));
        samples.push(sample(&format!("right_after_{id}"), RIGHT));
        samples.push(sample(&format!("wrong_after_{id}"), WRONG));
    }
    ws.write_jsonl("samples.jsonl", &samples);
    let started = Instant::now();
    ws.run_ok(&[
        "run",
        "-p",
        problems,
        "-s",
        "samples.jsonl",
        "-o",
        "runs.jsonl",
        "-j",
        "1",
        "-q",
        "--cache-dir",
        cache,
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the attacks held the tool up"
    );
    let runs = ws.runs("runs.jsonl");
    assert_eq!(runs.len(), samples.len(), "every sample reported once");
    let mut failures = Vec::new();
    for (id, _) in &attacks {
        let run = &runs[*id];
        let should_pass = *id == "clean_scratch_probe";
        if run["passed"] != should_pass {
            failures.push(format!("{id}: passed = {}\n  {run}", run["passed"]));
        }
        for (honest, expected) in [("right", true), ("wrong", false)] {
            let run = &runs[&format!("{honest}_after_{id}")];
            if run["passed"] != expected {
                failures.push(format!(
                    "the {honest} sample after {id} changed verdict: {run}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a program reached a host unix socket: {other:?}"),
    }
}

/// `kill -9` of tracealign mid-job: its workers and their jobs go with it.
#[test]
fn killing_tracealign_leaves_no_process_behind() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    let hang = "import time\ndef f(x):\n    time.sleep(30)\n    return x + 1\n";
    ws.write_jsonl(
        "samples.jsonl",
        &[sample("hang_a", hang), sample("hang_b", hang)],
    );
    let mut child = ws
        .command()
        .args(["run", "-p", "problems.jsonl", "-s", "samples.jsonl"])
        .args(["-o", "runs.jsonl", "-j", "2", "-q", "--timeout-floor", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until both jobs run: tracealign, its workers and their jobs make a tree of at
    // least 2 × (worker + job) processes under tracealign.
    let started = Instant::now();
    let mut tree = Vec::new();
    while tree.len() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "jobs never started"
        );
        std::thread::sleep(Duration::from_millis(50));
        tree = descendants(child.id() as i32);
    }
    std::thread::sleep(Duration::from_millis(300));
    tree = descendants(child.id() as i32);
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<i32> = tree.iter().copied().filter(|&pid| is_alive(pid)).collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes outlived tracealign by 5 s: {alive:?} of {tree:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every process below `root`, by parent links in /proc.
fn descendants(root: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = all_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .collect();
    let mut found = vec![root];
    let mut at = 0;
    while at < found.len() {
        let parent = found[at];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        at += 1;
    }
    found.remove(0);
    found
}

/// Running, sleeping or stopped; a zombie has finished (only its parent's reaping is left).
fn is_alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields.first().is_some_and(|s| s != "Z" && s != "X"))
}

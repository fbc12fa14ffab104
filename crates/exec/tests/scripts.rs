//! Whole programs run as scripts on real workers: stdin, exit codes, files in and out,
//! timeouts and signals, each an outcome.

use std::collections::BTreeMap;

use tracealign_exec::{resolve_python, ExecConfig, Executor, Script, ScriptEnd};

fn executor() -> Executor {
    let mut config = ExecConfig::new(resolve_python(None).expect("a python3 on PATH"));
    config.workers = 1;
    Executor::start(config).expect("workers start")
}

fn script(code: &str) -> Script {
    Script {
        code: code.to_string(),
        timeout_s: 5.0,
        ..Script::default()
    }
}

#[test]
fn a_script_reads_stdin_writes_files_and_exits_with_its_code() {
    let executor = executor();
    let run = executor
        .run_script(&Script {
            stdin: "3 4\n".into(),
            files: BTreeMap::from([("data/in.txt".to_string(), b"x".to_vec())]),
            fetch_files: vec!["out.txt".into(), "missing.txt".into()],
            ..script(
                "import sys\na, b = map(int, input().split())\nprint(a + b)\n\
                 open('out.txt', 'w').write(open('data/in.txt').read() * 2)\n\
                 if __name__ == '__main__':\n    sys.exit(7)\n",
            )
        })
        .unwrap();
    assert_eq!(run.end, ScriptEnd::Exited { code: 7 });
    assert_eq!(run.stdout, "7\n");
    assert_eq!(
        run.files.get("out.txt").map(Vec::as_slice),
        Some(&b"xx"[..])
    );
    assert!(!run.files.contains_key("missing.txt"));
}

#[test]
fn exceptions_syntax_errors_timeouts_and_signals_are_ends_not_errors() {
    let executor = executor();
    let raised = executor.run_script(&script("1 / 0\n")).unwrap();
    assert_eq!(raised.end, ScriptEnd::Exited { code: 1 });
    assert!(
        raised.stderr.contains("ZeroDivisionError"),
        "{}",
        raised.stderr
    );
    let syntax = executor.run_script(&script("def f(:\n")).unwrap();
    assert_eq!(syntax.end, ScriptEnd::Exited { code: 1 });
    assert!(syntax.stderr.contains("SyntaxError"));
    let slow = executor
        .run_script(&Script {
            timeout_s: 0.5,
            ..script("while True:\n    pass\n")
        })
        .unwrap();
    assert_eq!(slow.end, ScriptEnd::Timeout);
    let killed = executor
        .run_script(&script(
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        ))
        .unwrap();
    assert_eq!(killed.end, ScriptEnd::Killed { signal: 9 });
    // The worker is still there for the next program.
    let after = executor.run_script(&script("print('ok')\n")).unwrap();
    assert_eq!(
        (after.end, after.stdout.as_str()),
        (ScriptEnd::Exited { code: 0 }, "ok\n")
    );
}

#[test]
fn running_out_of_memory_is_its_own_end_and_thread_pools_get_the_jobs_share() {
    let executor = executor();
    let bomb = executor
        .run_script(&Script {
            memory_mb: Some(256),
            ..script("blocks = []\nwhile True:\n    blocks.append(bytearray(32 << 20))\n")
        })
        .unwrap();
    assert_eq!(bomb.end, ScriptEnd::MemoryLimit, "{}", bomb.stderr);
    assert!(bomb.stderr.contains("MemoryError"), "{}", bomb.stderr);
    // A program that handles its own MemoryError and goes on is not out of memory.
    let handled = executor
        .run_script(&Script {
            memory_mb: Some(256),
            ..script("try:\n    bytearray(1 << 40)\nexcept MemoryError:\n    print('coped')\n")
        })
        .unwrap();
    assert_eq!(
        (handled.end, handled.stdout.as_str()),
        (ScriptEnd::Exited { code: 0 }, "coped\n")
    );
    let pools = executor
        .run_script(&script(
            "import os\nprint(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'])\n",
        ))
        .unwrap();
    let threads = tracealign_exec::Limits::default().threads;
    assert!((1..=4).contains(&threads));
    assert_eq!(pools.stdout, format!("{threads} {threads}\n"));
}

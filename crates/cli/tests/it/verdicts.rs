//! What each outcome records, on real executions.

use serde_json::json;

use crate::workspace::{increment_problem, outcomes, sample, Workspace};

#[test]
fn outcomes_carry_what_a_user_needs_to_debug() {
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &[increment_problem()]);
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("wrong", "def f(x):\n    return x + 2\n"),
            sample("raises", "def f(x):\n    items = []\n    return items[x]\n"),
            sample("syntax", "def f(x)\n    return x\n"),
            sample("no_entry_point", "def g(x):\n    return x + 1\n"),
            sample(
                "partly",
                "def f(x):\n    if x == 3:\n        raise ValueError('three')\n    return x + 1\n",
            ),
            sample(
                "chatty",
                "import sys\nprint('loading')\ndef f(x):\n    print('f of', x)\n    print('oops', file=sys.stderr)\n    return x + 1\n",
            ),
            sample("warns", "def f(x):\n    return x + 1 if x is not 3 else 4\n"),
        ],
    );
    let output = ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");

    let wrong = &runs["wrong"]["tests"];
    assert_eq!(wrong[0]["outcome"], "failed");
    assert_eq!(
        (wrong[0]["expected"].as_str(), wrong[0]["actual"].as_str()),
        (Some("2"), Some("3"))
    );
    assert_eq!(wrong[1]["assertion"], "assert f(3) == 4");
    assert_eq!(wrong[3]["outcome"], "failed");
    assert_eq!(wrong[3]["assertion"], "assert candidate(i) == i + 1");

    let raises = &runs["raises"]["tests"][0];
    assert_eq!(
        (raises["outcome"].as_str(), raises["exc_type"].as_str()),
        (Some("error"), Some("IndexError"))
    );
    assert_eq!(raises["line"], 3, "the line in the candidate's code");

    let syntax = &runs["syntax"];
    assert_eq!(syntax["status"]["kind"], "syntax_error");
    assert_eq!(syntax["status"]["line"], 1);
    assert!(outcomes(syntax).iter().all(|o| o == "error"));

    let missing = &runs["no_entry_point"]["tests"][0];
    assert_eq!(missing["exc_type"], "NameError");
    assert!(missing["message"].as_str().unwrap().contains("entry point"));

    // What a program prints is captured per stream; the compiler's warnings are the
    // program's output too, not tracealign's.
    let captured = [
        ("chatty", "stdout", "loading\nf of 1\nf of 3\n"),
        ("chatty", "stderr", "oops\n"),
        (
            "warns",
            "stderr",
            "<candidate>:2: SyntaxWarning: \"is not\" with a literal",
        ),
    ];
    for (id, stream, start) in captured {
        let run = &runs[id];
        assert_eq!(run["passed"], true, "{run}");
        assert!(run[stream].as_str().unwrap().starts_with(start), "{run}");
    }
    let own_stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!own_stderr.contains("SyntaxWarning"), "{own_stderr}");

    // Every test is run even after one fails.
    assert_eq!(
        outcomes(&runs["partly"]),
        ["passed", "error", "passed", "passed"]
    );
}

/// A test that expects an exception from its call is not passed by a program that raises
/// that exception while loading: every test records the load error, marked `at_load`.
#[test]
fn an_exception_while_loading_passes_no_test_that_expects_it() {
    let ws = Workspace::new();
    let problem = json!({
        "id": "neg", "prompt": "", "entry_point": "f",
        "reference": "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n",
        "tests": [{"name": "raises", "input": [-1]}, {"name": "value", "input": [2]}]
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let code = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n\nraise ValueError('at import')\n";
    ws.write_jsonl(
        "samples.jsonl",
        &[json!({"problem_id": "neg", "sample_id": "loud", "code": code})],
    );
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let loud = &ws.runs("runs.jsonl")["loud"];
    assert_eq!(loud["passed"], false);
    for test in loud["tests"].as_array().unwrap() {
        let raised = (&test["outcome"], &test["exc_type"], &test["line"]);
        assert_eq!(raised, (&json!("error"), &json!("ValueError"), &json!(6)));
        assert_eq!(test["at_load"], true, "{test}");
    }
}

#[test]
fn expected_values_come_from_the_reference_with_their_exact_types() {
    let ws = Workspace::new();
    let problem = json!({
        "id": "pairs", "prompt": "", "entry_point": "pairs",
        "reference": "def pairs(xs):\n    if not xs:\n        raise ValueError('empty')\n    return [(x, x * 0.5) for x in xs]\n",
        "tests": [
            {"name": "two", "input": [[1, 2]]},
            {"name": "python_args", "input": "[3]"},
            {"name": "empty", "input": [[]]}
        ]
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let sample =
        |id: &str, code: &str| json!({"problem_id": "pairs", "sample_id": id, "code": code});
    ws.write_jsonl(
        "samples.jsonl",
        &[
            sample("lists_not_tuples", "def pairs(xs):\n    if not xs:\n        raise ValueError\n    return [[x, x / 2] for x in xs]\n"),
            sample("close_floats", "def pairs(xs):\n    if not xs:\n        raise ValueError\n    return [(x, x * 0.5 + 1e-9) for x in xs]\n"),
            sample("wrong_exception", "def pairs(xs):\n    return [(x, x * 0.5) for x in xs] or None + 1\n"),
        ],
    );
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    assert_eq!(
        outcomes(&runs["lists_not_tuples"]),
        ["failed", "failed", "passed"]
    );
    assert_eq!(
        runs["lists_not_tuples"]["tests"][0]["expected"],
        "[(1, 0.5), (2, 1.0)]"
    );
    // Without an `atol` in the problem, results compare with Python's exact `==`.
    assert_eq!(
        outcomes(&runs["close_floats"]),
        ["failed", "failed", "passed"],
        "no tolerance: 0.5 + 1e-9 != 0.5"
    );
    let wrong_exception = &runs["wrong_exception"]["tests"][2];
    assert_eq!(
        wrong_exception["exc_type"], "TypeError",
        "the reference raised ValueError; another exception is an error"
    );
}

#[test]
fn timeouts_are_relative_to_the_reference() {
    let ws = Workspace::new();
    let problem = json!({
        "id": "slow", "prompt": "", "entry_point": "f",
        "reference": "import time\ndef f(x):\n    time.sleep(x)\n    return x\n",
        "tests": [{"name": "quick", "input": [0.0], "expected": 0.0}, {"name": "half", "input": [0.5], "expected": 0.5}]
    });
    ws.write_jsonl("problems.jsonl", &[problem]);
    let code = "import time\ndef f(x):\n    time.sleep(x * 3 + 0.35)\n    return x\n";
    ws.write_jsonl(
        "samples.jsonl",
        &[json!({"problem_id": "slow", "sample_id": "slower", "code": code})],
    );
    ws.run_line(
        "run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q --timeout-floor 0.3 \
        --timeout-factor 4",
    );
    let tests = &ws.runs("runs.jsonl")["slower"]["tests"];
    // quick: limit is the floor (0.3 s) and 0.35 s is too slow; half: 4 × 0.5 s = 2 s is enough.
    assert_eq!(tests[0]["outcome"], "timeout");
    assert!((tests[0]["limit_s"].as_f64().unwrap() - 0.3).abs() < 1e-9);
    assert_eq!(tests[1]["outcome"], "passed", "{tests}");
}

/// One program and one test, judged by `tracealign run` and by plain Python.
struct Agreement {
    id: &'static str,
    program: &'static str,
    /// Python statements (`candidate` is the program's `f`), or, when `reference` is
    /// given, a JSON array of arguments whose expected result is the reference's.
    test: &'static str,
    reference: Option<&'static str>,
}

fn agreement(id: &'static str, program: &'static str, test: &'static str) -> Agreement {
    Agreement {
        id,
        program,
        test,
        reference: None,
    }
}

fn against_reference(
    id: &'static str,
    program: &'static str,
    args: &'static str,
    reference: &'static str,
) -> Agreement {
    Agreement {
        id,
        program,
        test: args,
        reference: Some(reference),
    }
}

/// What plain Python says of a case: `passed`, `failed` (an AssertionError of the test's
/// own) or `error`. A test is run as HumanEval's `check` runs it, appended to the program;
/// a reference-decided one compares the two results with `==`.
const PLAIN_PYTHON: &str = r#"
import json, sys
program, test, reference = json.loads(sys.argv[1])
try:
    candidate = {"__name__": "__main__"}
    exec(program, candidate)
    if reference is None:
        candidate["candidate"] = candidate["f"]
        exec(test, candidate)
    else:
        expected = {"__name__": "__main__"}
        exec(reference, expected)
        args = json.loads(test)
        assert candidate["f"](*args) == expected["f"](*json.loads(test))
    print("passed")
except AssertionError:
    print("failed")
except Exception:
    print("error")
"#;

fn plain_python(case: &Agreement) -> String {
    let input = json!([case.program, case.test, case.reference]).to_string();
    let output = std::process::Command::new("python3")
        .args(["-c", PLAIN_PYTHON, &input])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Verdicts follow Python's own `==` and truthiness: builtin subclasses (`Counter`,
/// `defaultdict`, `OrderedDict`, namedtuples, `IntEnum`, `frozenset`) compare as Python
/// compares them, numbers across types, complexes exactly, `nan` unequal to every `nan`,
/// floats without a tolerance that `==` does not have, and `assert f(x)` by `bool(f(x))`.
/// Each case is also run in plain Python, which must agree.
#[test]
fn verdicts_agree_with_plain_python() {
    let counter = "from collections import Counter\ndef f(s):\n    return Counter(s)\n";
    let cases = [
        agreement("counter_eq_dict", counter, "assert f('aab') == {'a': 2, 'b': 1}"),
        agreement("counter_ne_dict", counter, "assert f('aab') == {'a': 2}"),
        agreement("dict_eq_counter", counter, "assert {'b': 1, 'a': 2} == candidate('aab')"),
        agreement("counter_not_ne", counter, "assert f('ab') != {'a': 1, 'b': 1}"),
        agreement(
            "defaultdict_eq_dict",
            "from collections import defaultdict\ndef f(xs):\n    d = defaultdict(list)\n    for x in xs:\n        d[x % 2].append(x)\n    return d\n",
            "assert f([1, 2, 3]) == {1: [1, 3], 0: [2]}",
        ),
        agreement(
            "ordereddict_eq_dict_in_any_order",
            "from collections import OrderedDict\ndef f():\n    return OrderedDict([('b', 2), ('a', 1)])\n",
            "assert f() == {'a': 1, 'b': 2}",
        ),
        against_reference(
            "ordereddict_order_matters",
            "from collections import OrderedDict\ndef f():\n    return OrderedDict([('b', 2), ('a', 1)])\n",
            "[]",
            "from collections import OrderedDict\ndef f():\n    return OrderedDict([('a', 1), ('b', 2)])\n",
        ),
        against_reference(
            "ordereddict_moved_to_end",
            "from collections import OrderedDict\ndef f():\n    d = OrderedDict([('b', 2), ('a', 1)])\n    d.move_to_end('b')\n    return d\n",
            "[]",
            "from collections import OrderedDict\ndef f():\n    return OrderedDict([('a', 1), ('b', 2)])\n",
        ),
        against_reference(
            "counter_zero_counts",
            "from collections import Counter\ndef f():\n    c = Counter('ab')\n    c['b'] -= 1\n    return c\n",
            "[]",
            "from collections import Counter\ndef f():\n    return Counter('a')\n",
        ),
        agreement(
            "namedtuple_eq_tuple",
            "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\ndef f():\n    return Point(1, 2)\n",
            "assert f() == (1, 2)",
        ),
        agreement(
            "namedtuple_ne_list",
            "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\ndef f():\n    return Point(1, 2)\n",
            "assert f() == [1, 2]",
        ),
        agreement(
            "frozenset_eq_set",
            "def f(xs):\n    return frozenset(xs)\n",
            "assert f([2, 1, 2]) == {1, 2}",
        ),
        agreement(
            "intenum_eq_int",
            "import enum\nclass Color(enum.IntEnum):\n    RED = 1\ndef f():\n    return Color.RED\n",
            "assert f() == 1",
        ),
        agreement("true_eq_one", "def f():\n    return True\n", "assert f() == 1"),
        agreement("int_eq_float", "def f():\n    return 2\n", "assert f() == 2.0"),
        agreement("float_in_list", "def f():\n    return [1.0, True]\n", "assert f() == [1, 1]"),
        agreement("complex_eq", "def f():\n    return complex(1, 2)\n", "assert f() == 1+2j"),
        agreement(
            "complex_negative_zero",
            "def f():\n    return complex(0.0, -0.0)\n",
            "assert f() == complex(0, -0.0)",
        ),
        agreement(
            "complex_infinite",
            "def f():\n    return complex(float('inf'), 1)\n",
            "assert f() == complex(float('inf'), 1)",
        ),
        agreement("complex_eq_int", "def f():\n    return 3+0j\n", "assert f() == 3"),
        agreement("float_exact", "def f():\n    return 0.1 + 0.2\n", "assert f() == 0.3"),
        agreement("float_exact_list", "def f():\n    return [0.5, 1e-12 + 1]\n", "assert f() == [0.5, 1.0]"),
        agreement("nan_ne_nan", "def f():\n    return float('nan')\n", "assert f() != float('nan')"),
        agreement("nan_in_list", "def f():\n    return [float('nan')]\n", "assert f() == [float('nan')]"),
        agreement(
            "nan_in_dict",
            "def f():\n    return {'x': float('nan')}\n",
            "assert candidate() == {'x': float('nan')}",
        ),
        agreement(
            "match_is_truthy",
            "import re\ndef f(s):\n    return re.match('a', s)\n",
            "assert f('abc')",
        ),
        agreement(
            "no_match_is_falsy",
            "import re\ndef f(s):\n    return re.match('a', s)\n",
            "assert not f('xyz')",
        ),
        agreement(
            "truthy_object_is_not_falsy",
            "import re\ndef f(s):\n    return re.match('a', s)\n",
            "assert not f('abc')",
        ),
        agreement(
            "len_decides_truth",
            "class Bag:\n    def __len__(self):\n        return 0\ndef f():\n    return Bag()\n",
            "assert f()",
        ),
        agreement(
            "bool_raises",
            "class B:\n    def __bool__(self):\n        raise ValueError('no truth')\ndef f():\n    return B()\n",
            "assert f()",
        ),
    ];
    let problems: Vec<_> = cases
        .iter()
        .map(|case| {
            let test = match case.reference {
                Some(_) => json!({"name": "t", "input": serde_json::from_str::<serde_json::Value>(case.test).unwrap()}),
                None => json!({"name": "t", "code": case.test}),
            };
            json!({"id": case.id, "prompt": "", "entry_point": "f",
                   "reference": case.reference.unwrap_or(case.program), "tests": [test]})
        })
        .collect();
    let samples: Vec<_> = cases
        .iter()
        .map(|case| json!({"problem_id": case.id, "sample_id": case.id, "code": case.program}))
        .collect();
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &problems);
    ws.write_jsonl("samples.jsonl", &samples);
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    let disagreements: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let ours = &runs[case.id]["tests"][0];
            let python = plain_python(case);
            (ours["outcome"] != python.as_str())
                .then(|| format!("{}: python {python}, tracealign {ours}", case.id))
        })
        .collect();
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // The cases cover both verdicts, and the display keeps the subclass's name.
    assert_eq!(
        runs["counter_ne_dict"]["tests"][0]["actual"],
        "Counter({'a': 2, 'b': 1})"
    );
    assert_eq!(
        runs["ordereddict_order_matters"]["tests"][0]["outcome"],
        "failed"
    );
    assert_eq!(runs["counter_zero_counts"]["tests"][0]["outcome"], "passed");
}

/// Where tracealign deliberately departs from plain Python: an object whose type defines
/// its own `__eq__` decides nothing, even a `dict` subclass, and neither does a patched
/// `Counter.__eq__`.
#[test]
fn own_equality_methods_decide_no_verdict() {
    let cases = [
        agreement(
            "dict_with_own_eq",
            "class D(dict):\n    def __eq__(self, other):\n        return True\ndef f():\n    return D(a=2)\n",
            "assert f() == {'a': 2}",
        ),
        agreement(
            "patched_counter_eq",
            "from collections import Counter\nCounter.__eq__ = lambda self, other: True\ndef f():\n    return Counter('a')\n",
            "assert f() == {'a': 1}",
        ),
        agreement(
            "inherited_own_eq",
            "class Eq:\n    def __eq__(self, other):\n        return True\nclass T(Eq, tuple):\n    pass\ndef f():\n    return T((1, 2))\n",
            "assert f() == (1, 2)",
        ),
    ];
    let problems: Vec<_> = cases
        .iter()
        .map(|case| {
            json!({"id": case.id, "prompt": "", "entry_point": "f", "reference": case.program,
                   "tests": [{"name": "t", "code": case.test}]})
        })
        .collect();
    let samples: Vec<_> = cases
        .iter()
        .map(|case| json!({"problem_id": case.id, "sample_id": case.id, "code": case.program}))
        .collect();
    let ws = Workspace::new();
    ws.write_jsonl("problems.jsonl", &problems);
    ws.write_jsonl("samples.jsonl", &samples);
    ws.run_line("run -p problems.jsonl -s samples.jsonl -o runs.jsonl -q");
    let runs = ws.runs("runs.jsonl");
    for case in &cases {
        assert_eq!(plain_python(case), "passed", "{}", case.id);
        assert_eq!(
            runs[case.id]["tests"][0]["outcome"], "failed",
            "{}",
            case.id
        );
    }
}

/// EvalPlus's tolerance (its `atol`, 0 meaning 1e-6 for floats) belongs to EvalPlus
/// problems; a HumanEval `assert candidate() == 0.3` is exact, as in Python.
#[test]
fn float_tolerance_only_where_the_format_defines_it() {
    let ws = Workspace::new();
    let human_eval = json!({
        "task_id": "H/0", "entry_point": "f", "prompt": "def f():\n",
        "canonical_solution": "    return 0.3\n",
        "test": "def check(candidate):\n    assert candidate() == 0.3\n",
    });
    let eval_plus = json!({
        "task_id": "E/0", "entry_point": "f", "prompt": "def f():\n",
        "canonical_solution": "    return 0.3\n", "test": "def check(candidate):\n    pass\n",
        "base_input": [[]], "plus_input": [], "atol": 0,
    });
    ws.write_jsonl("human_eval.jsonl", &[human_eval]);
    ws.write_jsonl("eval_plus.jsonl", &[eval_plus]);
    for (problems, id) in [("human_eval.jsonl", "H/0"), ("eval_plus.jsonl", "E/0")] {
        ws.write_jsonl(
            "samples.jsonl",
            &[json!({"problem_id": id, "sample_id": id, "code": "def f():\n    return 0.1 + 0.2\n"})],
        );
        ws.run_ok(&[
            "run",
            "-p",
            problems,
            "-s",
            "samples.jsonl",
            "-o",
            "runs.jsonl",
            "--force",
            "-q",
        ]);
        let expected = if id == "H/0" { "failed" } else { "passed" };
        assert_eq!(outcomes(&ws.runs("runs.jsonl")[id]), [expected], "{id}");
    }
}

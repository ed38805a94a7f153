"""Bad arguments on the command line (minigrad.cli): every one gives exit
status 2 and one line on stderr, ``minigrad COMMAND: ...`` naming the
argument, never a traceback; nets too large to show are refused from
``--layers`` alone, before anything is built.  The draw subcommand's file
errors (formats, folders, read-only files) are in tests/test_draw.py."""

import subprocess
import sys
import tracemalloc

import pytest

from minigrad import cli


def one_line_error(capsys):
    """What the command printed to stderr: exactly one line, no traceback, nothing on stdout."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err.rstrip("\n")


# (arguments, what the line must name)
NETWORK = [
    (["--layers", "2", "0", "2"], "--layers: must be a positive integer, got 0"),
    (["--layers", "-2", "2", "2"], "--layers: must be a positive integer, got -2"),
    (["--layers", "2", "x", "2"], "--layers: must be an integer, got 'x'"),
    (["--layers", "2", "2.5", "2"], "--layers: must be an integer, got '2.5'"),
    (["--layers"], "--layers: expected at least one argument"),
    (["--layers", "2"], "--layers needs at least two sizes (inputs ... outputs), got [2]"),
    (["--seed", "-1"], "--seed: must be an integer ≥ 0, got -1"),
    (["--seed", "1.5"], "--seed: must be an integer, got '1.5'"),
    (["--alpha", "0"], "--alpha: must be finite and > 0, got 0"),
    (["--alpha", "-0.0"], "--alpha: must be finite and > 0, got -0.0"),
    (["--alpha", "-1"], "--alpha: must be finite and > 0, got -1"),
    (["--alpha", "nan"], "--alpha: must be finite and > 0, got nan"),
    (["--alpha", "inf"], "--alpha: must be finite and > 0, got inf"),
    (["--alpha", "-inf"], "--alpha: must be finite and > 0, got -inf"),
    (["--alpha", "1e400"], "--alpha: must be finite and > 0, got 1e400"),
    (["--alpha", "one"], "--alpha: must be a number, got 'one'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["extra", "--layers", "2", "2", "2"], "unrecognized arguments: extra"),
    (["--layers", "2", "2", "2", "extra"], "--layers: must be an integer, got 'extra'"),
    (["--alpha"], "--alpha: expected one argument"),
    (["--alpha", "--seed", "1"], "--alpha: expected one argument"),
]

COMPARE = [
    (["--tolerance", "-1"], "--tolerance: must be finite and ≥ 0, got -1"),
    (["--tolerance", "-1e-12"], "--tolerance: must be finite and ≥ 0, got -1e-12"),
    (["--tolerance", "nan"], "--tolerance: must be finite and ≥ 0, got nan"),
    (["--tolerance", "inf"], "--tolerance: must be finite and ≥ 0, got inf"),
    (["--layers", "2", "2"], "the chapter's formulas cover exactly one hidden layer: --layers needs three sizes "
                             "(inputs hidden outputs), got 2: [2, 2]"),
    (["--layers", "2", "2", "2", "2"], "--layers needs three sizes"),
    (["--scalar", "--layers", "200", "200", "2"], "--layers 200 200 2 has 40,602 weights and biases; "
                                                  "compare takes at most 10,000"),
]

EXPLAIN = [
    (["--weight", "foo"], "--weight: invalid choice: 'foo' (choose from 'v', 'w', 'bias_output', 'bias_hidden')"),
    (["--weight", "bias_output", "--no-bias"], "--weight bias_output needs the biases (drop --no-bias)"),
    (["--index", "5", "0"], "--index 5 0 is out of range for v of shape (2, 2)"),
    (["--index", "0", "2"], "--index 0 2 is out of range for v of shape (2, 2)"),
    (["--weight", "w", "--index", "0", "1", "--layers", "3", "1", "2"],
     "--index 0 1 is out of range for w of shape (3, 1)"),
    (["--index", "-1", "0"], "--index: must be an integer ≥ 0, got -1"),
    (["--index", "99999999999999999999", "0"], "--index 99999999999999999999 0 is out of range for v"),
    (["--index", "0"], "--index 0: --weight v of shape (2, 2) needs 2 index values, got 1"),
    (["--weight", "bias_output", "--index", "0", "0"],
     "--index 0 0: --weight bias_output of shape (2,) needs 1 index value, got 2"),
    (["--layers", "2", "2", "2", "2"], "--layers needs three sizes"),
    (["--scalar", "--layers", "100", "200", "2"], "--scalar builds every weight as its own Value; --layers 100 200 2 "
                                                  "has 20,602 weights and biases, at most 10,000 are built that way "
                                                  "(leave out --scalar)"),
]

DRAW = [
    (["--max-nodes", "0"], "--max-nodes: must be a positive integer, got 0"),
    (["--max-nodes", "-5"], "--max-nodes: must be a positive integer, got -5"),
    (["--highlight", "nosuch"], "--highlight nosuch: no parameter named 'nosuch'; choose from w[0,0]"),
    (["--highlight", "v[2,0]"], "--highlight v[2,0]: no parameter named 'v[2,0]'"),
    (["--tensor", "--highlight", "nosuch"], "--highlight nosuch: no parameter named 'nosuch'; choose from w, "
                                            "bias_hidden, v, bias_output"),
    (["--tensor", "--highlight", "v[9,9]"], "--highlight v[9,9]: index (9, 9) is out of range"),
    (["--tensor", "--highlight", "v[-1,0]"], "--highlight v[-1,0]: index (-1, 0) has a negative entry; count from 0"),
    (["--tensor", "--highlight", "v[1,x]"], "--highlight v[1,x]: no parameter named 'v[1,x]'"),
    (["--tensor", "--highlight", "v[1]"], "--highlight v[1]: index (1,) has 1 entries"),
    (["--no-bias", "--highlight", "bias_output[0]"], "--highlight bias_output[0]: no parameter named"),
    (["--format", "gif"], "--format: invalid choice: 'gif'"),
    (["--rankdir", "XX"], "--rankdir: invalid choice: 'XX' (choose from 'LR', 'TB')"),
    (["--out", ""], "--out: must name a file, got ''"),
    (["--out", "  "], "--out: must name a file, got '  '"),
    (["--scalar", "--tensor"], "--tensor: not allowed with argument --scalar"),
    (["--scalar", "--layers", "200", "200", "2"], "--scalar builds every weight as its own Value; --layers 200 200 2 "
                                                  "has 40,602 weights and biases, at most 10,000 are built that way "
                                                  "(leave out --scalar)"),
    (["--layers", *["1"] * 1001], "--layers has 1,001 sizes; draw takes at most 1,000"),
]

CASES = ([("compare", arguments, named) for arguments, named in NETWORK + COMPARE]
         + [("explain", arguments, named) for arguments, named in NETWORK + EXPLAIN]
         + [("draw", arguments, named) for arguments, named in NETWORK + DRAW])


@pytest.mark.parametrize("command, arguments, named", CASES,
                         ids=[f"{command} {' '.join(arguments)[:40]}" for command, arguments, _ in CASES])
def test_a_bad_argument_is_one_line_naming_it_with_exit_status_2(monkeypatch, tmp_path, capsys, command, arguments,
                                                                  named):
    monkeypatch.chdir(tmp_path)  # draw would write graph.svg here
    assert cli.main([command, *arguments]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"minigrad {command}: "), line
    assert named in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written


HUGE = [
    ("compare", ["--layers", "3000", "3000", "2"], "--layers 3000 3000 2 has 9,009,002 weights and biases; "
                                                   "compare takes at most 10,000"),
    ("explain", ["--layers", "30000", "30000", "2"], "--layers 30000 30000 2 has 900,090,002 weights and biases; "
                                                     "explain takes at most 1,000,000"),
    ("draw", ["--layers", "30000", "30000", "2"], "--layers 30000 30000 2 has 900,090,002 weights and biases; "
                                                  "draw takes at most 1,000,000"),
    ("draw", ["--tensor", "--layers", "10000000000", "10000000000"],
     "--layers 10000000000 10000000000 has 100,000,000,010,000,000,000 weights and biases; draw takes at most"),
    ("draw", ["--layers", *["2000"] * 20], "--layers 2000 2000 2000 ... 2000 2000 has 76,038,000 weights and biases"),
]


@pytest.mark.parametrize("command, arguments, message", HUGE, ids=[f"{c} {' '.join(a)[:30]}" for c, a, _ in HUGE])
def test_nets_too_large_to_show_are_refused_before_anything_is_built(monkeypatch, tmp_path, capsys, command,
                                                                    arguments, message):
    def must_not_build(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(cli.nn, "example_network", must_not_build)
    monkeypatch.setattr(cli, "compare", must_not_build)
    monkeypatch.chdir(tmp_path)
    tracemalloc.start()
    try:
        status = cli.main([command, *arguments])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 2
    assert one_line_error(capsys).startswith(f"minigrad {command}: {message}")
    assert peak < 5 * 2 ** 20, f"{peak:,} bytes allocated"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("arguments, message", [
    ([], "minigrad: the following arguments are required: COMMAND"),
    (["nosuch"], "minigrad: COMMAND: invalid choice: 'nosuch' "
                 f"(choose from {', '.join(repr(command) for command in cli.COMMANDS)})"),
])
def test_a_missing_or_unknown_command_is_one_line_with_exit_status_2(capsys, arguments, message):
    assert cli.main(arguments) == 2
    assert one_line_error(capsys) == message


def test_help_returns_0_instead_of_exiting(capsys):
    assert cli.main(["draw", "--help"]) == 0
    assert "--highlight PARAMETER" in capsys.readouterr().out


def test_a_message_with_a_line_break_is_printed_as_one_line(monkeypatch, capsys):
    def failing(args):
        raise cli.UsageError("first line\nsecond line")

    monkeypatch.setitem(cli.COMMANDS, "compare", (cli.COMPARE_HELP, cli._compare_arguments, failing))
    assert cli.main(["compare"]) == 2
    assert one_line_error(capsys) == "minigrad compare: first line second line"


def test_python_dash_m_minigrad_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minigrad", "draw", "--layers", "2", "0", "2"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", "minigrad draw: --layers: must be a positive integer, got 0\n")
    assert list(tmp_path.iterdir()) == []

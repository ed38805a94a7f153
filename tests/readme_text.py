"""Compare a command's output with the copy pasted in the README, line by line.

`assert_matches_readme`: the same lines, in the same order, each with the
same words and names (runs of spaces inside a line, which a table's column
widths set, count as one); the numbers to a relative 1e-9 (absolute 1e-15
for the rounding-level differences the tables show), so that a numpy release
that rounds one last digit differently does not make the README "wrong"
while a real change in the output still does.

`assert_quotes_whole_lines`: every line a page quotes from an output is one
whole line of it, comments included (a quote that adds or drops a trailing
``# Eq. 6.30`` is not the output's line).
"""

import re

NUMBER = re.compile(r"[-−+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _split(text):
    return NUMBER.sub("#", text), [float(m.replace("−", "-")) for m in NUMBER.findall(text)]


def _lines(text):
    return [" ".join(line.split()) for line in text.strip("\n").splitlines()]


def assert_matches_readme(output, pasted, rel=1e-9, atol=1e-15):
    got_lines, want_lines = _lines(output), _lines(pasted)
    assert len(got_lines) == len(want_lines), \
        f"the pasted output has {len(want_lines)} lines, the output {len(got_lines)}: regenerate it"
    for number, (got_line, want_line) in enumerate(zip(got_lines, want_lines), start=1):
        got_words, got_numbers = _split(got_line)
        want_words, want_numbers = _split(want_line)
        assert got_words == want_words, \
            f"line {number} of the pasted output differs in more than its numbers: {want_line!r} is now {got_line!r}"
        for got, want in zip(got_numbers, want_numbers):
            assert abs(got - want) <= max(rel * max(abs(got), abs(want)), atol), (number, got, want)


def assert_quotes_whole_lines(quoted, output):
    """Every non-blank line of ``quoted`` is a whole line of ``output`` (leading spaces aside: a quote may be
    dedented), trailing comment included."""
    lines = {line.strip() for line in output.splitlines()}
    missing = [line.strip() for line in quoted.splitlines() if line.strip() and line.strip() not in lines]
    assert not missing, f"quoted lines the output does not print (whole lines, comments included): {missing}"

"""Compare a command's output with the copy pasted in the README.

The words, names and layout must match exactly; the numbers to a relative
1e-9 (absolute 1e-15 for the rounding-level differences the tables show), so
that a numpy release that rounds one last digit differently does not make the
README "wrong" while a real change in the output still does.
"""

import re

NUMBER = re.compile(r"[-−+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _split(text):
    return NUMBER.sub("#", text), [float(m.replace("−", "-")) for m in NUMBER.findall(text)]


def assert_matches_readme(output, pasted, rel=1e-9, atol=1e-15):
    got_words, got_numbers = _split(" ".join(output.split()))
    want_words, want_numbers = _split(" ".join(pasted.split()))
    assert got_words == want_words, "the README's pasted output differs in more than its numbers: regenerate it"
    for got, want in zip(got_numbers, want_numbers):
        assert abs(got - want) <= max(rel * max(abs(got), abs(want)), atol), (got, want)

"""Reference solutions to the exercises of examples/exercises.ipynb.

Try the exercises before reading on.

Each function takes ``q``, one forward pass of the chapter's network in the
chapter's names (``q.I``, ``q.w``, ``q.H``, ``q.v``, ``q.A``, ``q.E``,
``q.alpha``, ...: see `minigrad.tools.grading.ForwardValues`), and returns
∂SSE/∂(one parameter), shaped like that parameter.  The test suite runs the
notebook with these four filled in, each checked by
``minigrad.check_derivation`` (tests/tools/test_check_derivation.py); so can you::

    python -m minigrad check examples/exercise_solutions.py:dSSE_dw --weight w --layers 2 3 2

Derivations: docs/derivation.md, Sections 4–6.
"""

import numpy as np


def dSSE_dv(q):
    """Exercise 1, Eq. 6.30, for every v[h,o] at once:

        ∂SSE/∂v[h,o] = E_o · (−1) · α F_o (1 − F_o) · H_h       (Eq. 6.17, 6.21, 6.23, 6.27)

    The first three factors depend on o only, the last on h only: an outer
    product of H (rows h) and −α E F (1 − F) (columns o), shaped like v (H, O).
    """
    return np.outer(q.H, q.E * -1.0 * q.alpha * q.A * (1 - q.A))


def dSSE_dw(q):
    """Exercise 2, the chapter's "next subsection": w[i,h] reaches the SSE
    through H_h, and H_h feeds every output node o, so the chain rule adds
    one path per output node:

        ∂SSE/∂w[i,h] = Σ_o E_o (−1) α F_o (1 − F_o) · v[h,o] · α H_h (1 − H_h) · I_i

    The output deltas δ_o = α E_o F_o (1 − F_o) travel back along v (the sum
    over o is ``v @ delta_output``), are scaled by the hidden node's own slope,
    and meet the input I_i: an outer product shaped like w (I, H).
    """
    delta_output = q.alpha * q.E * q.A * (1 - q.A)                       # δ_o
    delta_hidden = q.alpha * q.H * (1 - q.H) * (q.v @ delta_output)      # α H_h (1 − H_h) Σ_o v[h,o] δ_o
    return -np.outer(q.I, delta_hidden)


def dSSE_dbias_output(q):
    """Exercise 3: a bias is a weight from a node whose activation is always 1,
    so Eq. 6.30 with H_h replaced by 1:

        ∂SSE/∂bias_output_o = E_o · (−1) · α F_o (1 − F_o) · 1
    """
    return -q.alpha * q.E * q.A * (1 - q.A)


def dSSE_dbias_hidden(q):
    """Exercise 4: the w[i,h] chain with I_i replaced by 1, written with loops
    over h and o, term by term:

        ∂SSE/∂bias_hidden_h = Σ_o E_o (−1) α F_o (1 − F_o) · v[h,o] · α H_h (1 − H_h) · 1
    """
    gradient = np.zeros(len(q.H))
    for h in range(len(q.H)):
        for o in range(len(q.A)):
            gradient[h] += q.E[o] * -1.0 * q.alpha * q.A[o] * (1 - q.A[o]) * q.v[h, o] \
                * q.alpha * q.H[h] * (1 - q.H[h]) * 1.0
    return gradient

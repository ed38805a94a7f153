"""Tools built on the public API: draw, explain, explore, compare, gradcheck and the
derivation grader.  They import the core, the compiler and `nn`; the core imports none of them."""

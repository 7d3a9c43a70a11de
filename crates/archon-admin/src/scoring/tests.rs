//! Tests of the scoring arithmetic.

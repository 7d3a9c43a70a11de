//! Round-trip tests of the proposal markdown.

//! Programs that must not compile, with the compiler's message pinned:
//! every `tests/ui/*.rs` fails to build with exactly the diagnostics in its
//! `.stderr` file (trybuild; regenerate with `TRYBUILD=overwrite cargo test
//! --test compile_fail` and review the diff).
//!
//! * `shape_mismatch.rs`: a layer with 8 outputs composed into a layer with
//!   9 inputs — the error names both the layer and the input it cannot take.
//! * `over_budget.rs`: `assert_fits!` on a network that needs more memory to
//!   train than the budget — the error names the network, its need and the
//!   budget.
//! * `train_inference_only.rs`: a trainer for a model holding a layer that
//!   implements `Layer` but not `Train` — the `Train` trait's diagnostic: the
//!   layer "cannot be trained on" its input.
//! * `conv_size.rs`: a `Conv1d` whose output size parameter is not what
//!   its kernel, stride and padding give — the error names the size it
//!   must be and its factors.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

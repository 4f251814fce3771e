//! The ATNA ledger (placeholder until the ledger core lands).

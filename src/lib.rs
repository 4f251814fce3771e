//! hiehub — a regional health information exchange hub (IHE XDS.b, XDS-I.b, PIX/PDQ, BPPC, ATNA).
//!
//! See `ARCHITECTURE.md` for the module map and the invariants.

pub mod audit;

pub mod anchor;
pub mod cli;
pub mod config;
pub mod consent;
pub mod diagnostics;
pub mod dicomweb;
pub mod dimse;
pub mod ebxml;
pub mod hl7v2;
pub mod hl7v3;
pub mod imaging;
pub mod ledger;
pub mod metrics;
pub mod mpi;
pub mod profiles;
pub mod render;
pub mod server;
pub mod soap;
pub mod store;
pub mod tls;
pub mod transaction;
pub mod viewer;
pub mod web;
pub mod xds;
pub mod xdsi;
pub mod xml;
pub mod xua;

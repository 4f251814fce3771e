//! The one integration-test binary: real server processes, real PostgreSQL, real sockets.

mod anchor;
mod consent;
mod harness;
mod inspector;
mod ledger;
mod mpi;
mod schemas;
mod server;
mod soap;
mod store;
mod syslog;
mod xds;
mod xds_lifecycle;
mod xds_query;
mod xds_seed;

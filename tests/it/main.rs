//! The one integration-test binary: real server processes, real PostgreSQL, real sockets.

mod anchor;
mod consent;
mod harness;
mod image_audit;
mod imaging;
mod inspector;
mod ledger;
mod mpi;
mod schemas;
mod server;
mod soap;
mod store;
mod syslog;
mod viewer_browser;
mod xds;
mod xds_lifecycle;
mod xds_query;
mod xds_seed;
mod xdsi;

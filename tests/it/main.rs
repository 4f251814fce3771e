//! The one integration-test binary: real server processes, real PostgreSQL, real sockets.

mod harness;
mod schemas;
mod server;
mod soap;
mod store;

//! The one integration-test binary: real server processes, real PostgreSQL, real sockets.

mod harness;
mod server;
mod soap;

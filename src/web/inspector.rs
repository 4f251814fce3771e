//! The audit inspector pages at `/audit/` (placeholder until they land).

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}

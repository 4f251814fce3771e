//! Migrations and storage invariants (STYLE lesson 14).

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;

use crate::harness::*;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// A textual picture of the schema: columns, indexes, triggers, functions.
fn schema(conn: &mut PgConnection) -> String {
    let sql = "
        SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL SELECT 'function ' || proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = 'public'
        ORDER BY 1";
    diesel::sql_query(sql)
        .load::<Line>(conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .filter(|l| !l.contains("__diesel_schema_migrations"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn migrations_go_up_down_and_up_to_the_same_schema() {
    let url = empty_database();
    let mut conn = connect(&url);
    let empty = schema(&mut conn);
    hiehub::store::migrate(&mut conn).unwrap();
    let first = schema(&mut conn);
    assert!(first.contains("audit_events"), "{first}");
    conn.revert_all_migrations(hiehub::store::MIGRATIONS)
        .unwrap();
    assert_eq!(
        schema(&mut conn),
        empty,
        "down migrations leave something behind"
    );
    hiehub::store::migrate(&mut conn).unwrap();
    assert_eq!(schema(&mut conn), first);
}

#[test]
fn every_foreign_key_has_an_index() {
    let url = fresh_database();
    let mut conn = connect(&url);
    let sql = "
        SELECT c.conrelid::regclass::text || '(' || a.attname || ')' AS line
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f'
           AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])";
    let missing: Vec<String> = diesel::sql_query(sql)
        .load::<Line>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(
        missing.is_empty(),
        "foreign keys without an index: {missing:?}"
    );
}

#[test]
fn the_ledger_is_append_only() {
    let server = Server::start_with(ServerOptions {
        env: vec![("HIEHUB_CHECKPOINT_EVERY".into(), "1".into())],
        ..ServerOptions::default()
    });
    for i in 0..3 {
        let resp = client()
            .post(server.url("/xds/registry"))
            .header("content-type", SOAP_CT)
            .body(echo_envelope(&format!("urn:uuid:ao{i}"), "x"))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    let url = server.db_url.clone().unwrap();
    let mut conn = connect(&url);
    for sql in [
        "UPDATE ledger_entries SET kind = 1",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
        "UPDATE ledger_nodes SET idx = idx",
        "DELETE FROM ledger_nodes",
        "DELETE FROM ledger_checkpoints",
        "TRUNCATE ledger_checkpoints",
        "UPDATE ledger_payloads SET payload = 'x'",
        "UPDATE ledger_payloads SET payload = NULL",
        "DELETE FROM ledger_payloads",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert!(!audit_rows(&url).is_empty());
}

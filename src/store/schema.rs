// Diesel table definitions; keep in step with migrations/.

diesel::table! {
    ledger_entries (seq) {
        seq -> Int8,
        kind -> Int2,
        leaf -> Bytea,
        leaf_hash -> Bytea,
        chain_hash -> Bytea,
        committed_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_payloads (seq) {
        seq -> Int8,
        payload -> Nullable<Bytea>,
        erased_by -> Nullable<Int8>,
    }
}

diesel::table! {
    ledger_nodes (level, idx) {
        level -> Int2,
        idx -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    ledger_checkpoints (size) {
        size -> Int8,
        root -> Bytea,
        note -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_verifications (id) {
        id -> Int8,
        started_at -> Timestamptz,
        finished_at -> Timestamptz,
        from_size -> Int8,
        to_size -> Int8,
        ok -> Bool,
        report -> Text,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> Int8,
        event_time -> Nullable<Timestamptz>,
        received_at -> Timestamptz,
        event_id -> Nullable<Text>,
        event_action -> Nullable<Text>,
        event_types -> Array<Text>,
        outcome -> Nullable<Int2>,
        transport -> Text,
        sender -> Nullable<Text>,
        remote_addr -> Nullable<Text>,
        source_id -> Nullable<Text>,
        users -> Array<Text>,
        nodes -> Array<Text>,
        patient_ids -> Array<Text>,
        object_ids -> Array<Text>,
        message_id -> Nullable<Text>,
        valid -> Bool,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(ledger_payloads -> ledger_entries (seq));
diesel::joinable!(audit_events -> ledger_entries (seq));
diesel::allow_tables_to_appear_in_same_query!(
    ledger_entries,
    ledger_payloads,
    ledger_nodes,
    ledger_checkpoints,
    ledger_verifications,
    audit_events,
);

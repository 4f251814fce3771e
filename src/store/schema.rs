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

// XDS.b registry and repository (migrations/2026-11-22-000003_xds_registry).

diesel::table! {
    patients (id) {
        id -> Int8,
        assigning_authority -> Text,
        patient_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    xds_submission_sets (entry_uuid) {
        entry_uuid -> Text,
        unique_id -> Text,
        patient_id -> Text,
        source_id -> Text,
        status -> Text,
        submission_time -> Timestamp,
        content_type_code -> Text,
        author_persons -> Array<Text>,
        intended_recipients -> Array<Text>,
        transaction -> Text,
        metadata_xml -> Text,
        registered_at -> Timestamptz,
    }
}

diesel::table! {
    xds_document_entries (entry_uuid) {
        entry_uuid -> Text,
        logical_id -> Text,
        version -> Int4,
        unique_id -> Text,
        patient_id -> Text,
        status -> Text,
        object_type -> Text,
        mime_type -> Text,
        class_code -> Text,
        type_code -> Text,
        format_code -> Text,
        healthcare_facility_type_code -> Text,
        practice_setting_code -> Text,
        confidentiality_codes -> Array<Text>,
        event_codes -> Array<Text>,
        creation_time -> Nullable<Timestamp>,
        service_start_time -> Nullable<Timestamp>,
        service_stop_time -> Nullable<Timestamp>,
        author_persons -> Array<Text>,
        reference_ids -> Array<Text>,
        hash -> Nullable<Text>,
        size -> Nullable<Int8>,
        repository_unique_id -> Nullable<Text>,
        home_community_id -> Nullable<Text>,
        submission_set -> Text,
        metadata_xml -> Text,
        registered_at -> Timestamptz,
    }
}

diesel::table! {
    xds_folders (entry_uuid) {
        entry_uuid -> Text,
        logical_id -> Text,
        version -> Int4,
        unique_id -> Text,
        patient_id -> Text,
        status -> Text,
        code_list -> Array<Text>,
        last_update_time -> Timestamp,
        submission_set -> Text,
        metadata_xml -> Text,
        registered_at -> Timestamptz,
    }
}

diesel::table! {
    xds_associations (entry_uuid) {
        entry_uuid -> Text,
        association_type -> Text,
        source_uuid -> Text,
        target_uuid -> Text,
        status -> Text,
        submission_set_status -> Nullable<Text>,
        submission_set -> Text,
        metadata_xml -> Text,
        registered_at -> Timestamptz,
    }
}

diesel::table! {
    xds_repository_documents (document_unique_id) {
        document_unique_id -> Text,
        blob_sha256 -> Text,
        sha1 -> Text,
        size -> Int8,
        mime_type -> Text,
        stored_at -> Timestamptz,
    }
}

diesel::joinable!(xds_document_entries -> xds_submission_sets (submission_set));
diesel::joinable!(xds_folders -> xds_submission_sets (submission_set));
diesel::joinable!(xds_associations -> xds_submission_sets (submission_set));
diesel::allow_tables_to_appear_in_same_query!(
    patients,
    xds_submission_sets,
    xds_document_entries,
    xds_folders,
    xds_associations,
    xds_repository_documents,
);

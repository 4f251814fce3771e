// Diesel table definitions; keep in step with migrations/.

diesel::table! {
    audit_events (seq) {
        seq -> Int8,
        recorded_at -> Timestamptz,
        event_time -> Timestamptz,
        event_id -> Text,
        event_action -> Bpchar,
        event_type -> Nullable<Text>,
        outcome -> Int2,
        transport -> Text,
        requestor -> Nullable<Text>,
        remote_addr -> Nullable<Text>,
        message_id -> Nullable<Text>,
        payload -> Jsonb,
    }
}

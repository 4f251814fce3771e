DROP TABLE anchor_alarms;
DROP TABLE anchor_cosignatures;
DROP TABLE witness_state;

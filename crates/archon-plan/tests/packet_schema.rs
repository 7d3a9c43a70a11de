//! `--packet` input against the fixture's packet schema: what the planner
//! writes conforms to it, and what it accepts is what the schema accepts, plus
//! `ratified: true`.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use serde_json::{json, Value};

use archon_plan::io::read_packet;
use archon_plan::packet::validate_packet;
use common::*;

const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/archon72/docs/governance/schemas/ratified-intent-packet.json"
);

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(SCHEMA).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn built_packet() -> Value {
    serde_json::to_value(packets("review-basic").remove(0)).unwrap()
}

#[test]
fn packets_the_planner_writes_conform_to_the_fixture_schema() {
    let schema = schema();
    for p in packets("review-basic") {
        let v = serde_json::to_value(&p).unwrap();
        assert!(schema.is_valid(&v), "{}", p.motion_id);
        validate_packet("p.json", &v).unwrap();
    }
}

type Edit = fn(&mut Value);

#[test]
fn invalid_packets_are_refused_with_their_path() {
    let cases: &[(&str, Edit, &str, bool)] = &[
        // (case, edit, expected message, schema also rejects it)
        (
            "no ratification_record",
            |v| {
                v.as_object_mut().unwrap().remove("ratification_record");
            },
            "p.json: $: missing required field(s) of the packet schema: ratification_record",
            true,
        ),
        (
            "no review_artifacts and no packet_id",
            |v| {
                let o = v.as_object_mut().unwrap();
                o.remove("review_artifacts");
                o.remove("packet_id");
            },
            "missing required field(s) of the packet schema: packet_id, review_artifacts",
            true,
        ),
        (
            "null ratification_record",
            |v| v["ratification_record"] = Value::Null,
            "p.json: $.ratification_record: must be an object, found null",
            true,
        ),
        (
            "not ratified",
            |v| v["ratification_record"]["ratified"] = json!(false),
            "p.json: $.ratification_record.ratified: only a ratified motion is planned: ratified must be true, found false",
            false,
        ),
        (
            "created_at no date-time",
            |v| v["created_at"] = json!("yesterday"),
            "p.json: $.created_at: not an RFC 3339 time",
            true,
        ),
        (
            "no source artifacts",
            |v| {
                v["provenance"].as_object_mut().unwrap().remove("source_artifacts");
            },
            "p.json: $.provenance.source_artifacts",
            true,
        ),
    ];
    let schema = schema();
    for (name, edit, want, schema_rejects) in cases {
        let mut v = built_packet();
        edit(&mut v);
        let err = validate_packet("p.json", &v)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(!schema.is_valid(&v), *schema_rejects, "{name}");
    }
}

#[test]
fn read_packet_refuses_a_packet_without_ratification_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packet.json");
    let mut v = built_packet();
    v.as_object_mut().unwrap().remove("ratification_record");
    std::fs::write(&path, v.to_string()).unwrap();
    let err = read_packet(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("ratification_record"), "{err}");
    v["ratification_record"] = json!({"ratified": true});
    std::fs::write(&path, v.to_string()).unwrap();
    read_packet(&path).unwrap();
}

//! The OpenAPI 3.1 document served at `/v1/openapi.json`. It is written by
//! hand (the ledger's types carry no schema derives); the API tests call
//! every operation it lists and check that the router answers each.

/// The document, served as is.
pub const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_parses_and_lists_every_path() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), 9);
    }
}

//! `schema.graphql` is generated from the code and must not drift.

#[test]
fn schema_file_matches_the_code() {
    let generated = tidewatch::schema::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema.graphql is out of date; regenerate it with `cargo run -- schema > schema.graphql`"
    );
}

/// Types and fields the GraphQL library defines itself (connection plumbing, scalars).
fn from_the_library(type_name: &str) -> bool {
    type_name.starts_with("__")
        || ["Connection", "Edge"]
            .iter()
            .any(|suffix| type_name.ends_with(suffix))
        || [
            "PageInfo", "String", "Int", "Float", "Boolean", "ID", "DateTime",
        ]
        .contains(&type_name)
}

#[tokio::test]
async fn every_type_field_and_argument_is_described() {
    let query = "{ __schema { types { name description
        fields { name description args { name description } }
        inputFields { name description } enumValues { name description } } } }";
    let response = tidewatch::schema::unbound_schema().execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let described = |value: &serde_json::Value| {
        value["description"]
            .as_str()
            .is_some_and(|text| !text.trim().is_empty())
    };
    let mut missing = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if from_the_library(name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        let members = ["fields", "inputFields", "enumValues"]
            .iter()
            .flat_map(|key| ty[*key].as_array().cloned().unwrap_or_default());
        for member in members {
            let member_name = format!("{name}.{}", member["name"].as_str().unwrap());
            if !described(&member) {
                missing.push(member_name.clone());
            }
            for arg in member["args"].as_array().cloned().unwrap_or_default() {
                if !described(&arg) {
                    missing.push(format!("{member_name}({})", arg["name"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}

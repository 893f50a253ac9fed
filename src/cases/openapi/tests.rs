//! Tests of the parent module.

use super::sampler::SAMPLE_UUID;
use super::*;
use crate::cases::spec::{HttpMethod, HttpSpec, KeyValue, StatusAssertion};
use serde_json::json;

const PETSTORE_JSON: &str = r##"{
      "openapi": "3.0.3",
      "info": { "title": "Swagger Petstore", "version": "1.0.0" },
      "servers": [{ "url": "http://petstore.swagger.io/v1" }],
      "paths": {
        "/pets": {
          "get": {
            "summary": "List all pets",
            "operationId": "listPets",
            "tags": ["pets"],
            "parameters": [{
              "name": "limit", "in": "query", "required": false,
              "schema": { "type": "integer", "maximum": 100, "format": "int32" }
            }],
            "responses": {
              "200": { "description": "A paged array of pets",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Pets" } } } },
              "default": { "description": "unexpected error" }
            }
          },
          "post": {
            "operationId": "createPets",
            "description": "Creates a pet in the store.",
            "tags": ["pets", "write"],
            "requestBody": {
              "required": true,
              "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewPet" } } }
            },
            "responses": { "201": { "description": "Created" }, "200": { "description": "Existed" } }
          }
        },
        "/pets/{petId}": {
          "get": {
            "summary": "Info for a specific pet",
            "operationId": "showPetById",
            "tags": ["pets"],
            "parameters": [{
              "name": "petId", "in": "path", "required": true,
              "description": "The id of the pet to retrieve",
              "schema": { "type": "integer", "format": "int64" }
            }],
            "responses": { "200": { "description": "Expected response to a valid request" } }
          }
        }
      },
      "components": {
        "schemas": {
          "Pet": {
            "allOf": [
              { "$ref": "#/components/schemas/NewPet" },
              { "type": "object", "required": ["id"],
                "properties": { "id": { "type": "integer", "format": "int64", "readOnly": true } } }
            ]
          },
          "NewPet": {
            "type": "object",
            "required": ["name"],
            "properties": {
              "name": { "type": "string" },
              "tag": { "type": "string", "example": "dog" },
              "status": { "type": "string", "enum": ["available", "pending", "sold"] },
              "born": { "type": "string", "format": "date-time" },
              "owner": { "$ref": "#/components/schemas/Owner" },
              "weight": { "type": "number", "minimum": 0, "exclusiveMinimum": true },
              "photoUrls": { "type": "array", "items": { "type": "string", "format": "uri" } }
            }
          },
          "Owner": {
            "type": "object",
            "properties": {
              "id": { "type": "string", "format": "uuid", "readOnly": true },
              "email": { "type": "string", "format": "email" },
              "age": { "type": "integer", "minimum": 18 }
            }
          },
          "Pets": { "type": "array", "items": { "$ref": "#/components/schemas/Pet" } }
        }
      }
    }"##;

const PETSTORE_YAML: &str = r##"
openapi: 3.0.3
info:
  title: Swagger Petstore
  version: 1.0.0
servers:
  - url: http://petstore.swagger.io/v1
paths:
  /pets:
    get:
      summary: List all pets
      operationId: listPets
      tags: [pets]
      parameters:
        - name: limit
          in: query
          required: false
          schema: { type: integer, maximum: 100, format: int32 }
      responses:
        200:
          description: A paged array of pets
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Pets'
        default:
          description: unexpected error
    post:
      operationId: createPets
      description: Creates a pet in the store.
      tags: [pets, write]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/NewPet'
      responses:
        201: { description: Created }
        200: { description: Existed }
  /pets/{petId}:
    get:
      summary: Info for a specific pet
      operationId: showPetById
      tags: [pets]
      parameters:
        - name: petId
          in: path
          required: true
          description: The id of the pet to retrieve
          schema:
            type: integer
            format: int64
      responses:
        '200':
          description: Expected response to a valid request
components:
  schemas:
    Pet:
      allOf:
        - $ref: '#/components/schemas/NewPet'
        - type: object
          required: [id]
          properties:
            id: { type: integer, format: int64, readOnly: true }
    NewPet:
      type: object
      required: [name]
      properties:
        name: { type: string }
        tag: { type: string, example: dog }
        status: { type: string, enum: [available, pending, sold] }
        born: { type: string, format: date-time }
        owner: { $ref: '#/components/schemas/Owner' }
        weight: { type: number, minimum: 0, exclusiveMinimum: true }
        photoUrls:
          type: array
          items: { type: string, format: uri }
    Owner:
      type: object
      properties:
        id: { type: string, format: uuid, readOnly: true }
        email: { type: string, format: email }
        age: { type: integer, minimum: 18 }
    Pets:
      type: array
      items:
        $ref: '#/components/schemas/Pet'
"##;

/// Wraps `paths` (and optional `components`) into a minimal document of `version`.
fn document(version: &str, paths: Value, components: Value) -> String {
    json!({
        "openapi": version,
        "info": { "title": "Test", "version": "1" },
        "paths": paths,
        "components": components,
    })
    .to_string()
}

fn http(case: &GeneratedCase) -> &HttpSpec {
    case.spec.http.as_ref().expect("an HTTP case")
}

fn status(case: &GeneratedCase) -> &StatusAssertion {
    assert_eq!(http(case).assertions.len(), 1);
    http(case).assertions[0]
        .status
        .as_ref()
        .expect("a status assertion")
}

fn body_json(case: &GeneratedCase) -> &Value {
    &http(case)
        .request
        .body
        .as_ref()
        .and_then(|body| body.json.as_ref())
        .expect("a JSON body")
        .0
}

fn equals(code: i32) -> StatusAssertion {
    StatusAssertion {
        equals: Some(code),
        ..StatusAssertion::default()
    }
}

fn any_2xx() -> StatusAssertion {
    StatusAssertion {
        min: Some(200),
        max: Some(299),
        ..StatusAssertion::default()
    }
}

fn kv(name: &str, value: &str) -> KeyValue {
    KeyValue {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

fn check_petstore(generation: &Generation) {
    assert_eq!(generation.title, "Swagger Petstore");
    assert_eq!(
        generation.base_url.as_deref(),
        Some("http://petstore.swagger.io/v1")
    );
    assert!(generation.skipped.is_empty(), "{:?}", generation.skipped);
    let operations: Vec<_> = generation
        .cases
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(operations, ["GET /pets", "POST /pets", "GET /pets/{petId}"]);

    let list = &generation.cases[0];
    assert_eq!(list.name, "List all pets");
    assert_eq!(list.description, None);
    assert_eq!(list.tags, ["pets"]);
    let request = &http(list).request;
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "{{baseUrl}}/pets");
    assert!(
        request.query.is_empty(),
        "optional query parameters are left out"
    );
    assert!(request.headers.is_empty());
    assert!(request.body.is_none());
    assert_eq!(request.timeout_ms, 30_000);
    assert!(request.follow_redirects);
    assert_eq!(status(list), &equals(200));

    let create = &generation.cases[1];
    assert_eq!(create.name, "createPets", "no summary: the operationId");
    assert_eq!(
        create.description.as_deref(),
        Some("Creates a pet in the store.")
    );
    assert_eq!(create.tags, ["pets", "write"]);
    assert_eq!(http(create).request.method, HttpMethod::Post);
    assert_eq!(http(create).request.url, "{{baseUrl}}/pets");
    assert!(http(create).request.headers.is_empty());
    assert_eq!(
        body_json(create),
        &json!({
            "name": "string",
            "tag": "dog",
            "status": "available",
            "born": "2024-01-01T00:00:00Z",
            "owner": { "email": "user@example.com", "age": 18 },
            "weight": 1.5,
            "photoUrls": ["https://example.com"],
        })
    );
    assert_eq!(status(create), &equals(200), "the smallest 2xx code");

    let show = &generation.cases[2];
    assert_eq!(show.name, "Info for a specific pet");
    assert_eq!(http(show).request.url, "{{baseUrl}}/pets/1");
    assert_eq!(status(show), &equals(200));
}

#[test]
fn petstore_json() {
    check_petstore(&generate(PETSTORE_JSON).unwrap());
}

#[test]
fn petstore_yaml_matches_json() {
    let yaml = generate(PETSTORE_YAML).unwrap();
    check_petstore(&yaml);
    assert_eq!(yaml, generate(PETSTORE_JSON).unwrap());
}

#[test]
fn generated_specs_round_trip_as_stored_json() {
    for case in generate(PETSTORE_JSON).unwrap().cases {
        let stored = serde_json::to_value(&case.spec).unwrap();
        assert_eq!(
            serde_json::from_value::<CaseSpec>(stored).unwrap(),
            case.spec
        );
    }
}

#[test]
fn status_ranges() {
    let ok = json!({ "description": "ok" });
    let doc = document(
        "3.0.0",
        json!({
            "/a": { "get": { "responses": { "2XX": ok, "404": ok } } },
            "/b": { "get": { "responses": { "default": ok } } },
            "/c": { "get": { "responses": { "204": ok, "2XX": ok, "202": ok } } },
            "/d": { "get": { "responses": { "2xx": ok } } },
        }),
        json!({}),
    );
    let generation = generate(&doc).unwrap();
    let statuses: Vec<_> = generation.cases.iter().map(status).cloned().collect();
    assert_eq!(statuses, [any_2xx(), any_2xx(), equals(202), any_2xx()]);
    assert_eq!(
        generation.cases[0].name, "GET /a",
        "no summary nor id: the operation"
    );
}

#[test]
fn recursive_schemas_terminate() {
    let doc = document(
        "3.0.1",
        json!({ "/nodes": { "post": {
                "requestBody": { "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Node" } } } },
                "responses": { "201": { "description": "created" } }
            } } }),
        json!({ "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "parent": { "$ref": "#/components/schemas/Node" },
                        "children": { "type": "array", "items": { "$ref": "#/components/schemas/Node" } },
                        "other": { "$ref": "#/components/schemas/Other" }
                    }
                },
                "Other": {
                    "type": "object",
                    "properties": { "back": { "$ref": "#/components/schemas/Node" }, "n": { "type": "integer" } }
                },
                "Loop": { "$ref": "#/components/schemas/Loop" }
            } }),
    );
    let generation = generate(&doc).unwrap();
    assert_eq!(
        body_json(&generation.cases[0]),
        &json!({ "name": "string", "children": [], "other": { "n": 1 } })
    );
    assert_eq!(status(&generation.cases[0]), &equals(201));
}

#[test]
fn self_referencing_schema_alias_terminates() {
    let doc = document(
        "3.0.1",
        json!({ "/loop": { "post": {
                "requestBody": { "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Loop" } } } },
                "responses": { "200": { "description": "ok" } }
            } } }),
        json!({ "schemas": { "Loop": { "$ref": "#/components/schemas/Loop" } } }),
    );
    let generation = generate(&doc).unwrap();
    assert_eq!(body_json(&generation.cases[0]), &Value::Null);
}

#[test]
fn wide_reference_graphs_are_bounded() {
    // Each level refers to the next ten times: a full expansion would have 10^12 nodes.
    let mut schemas = Map::new();
    for level in 0..12 {
        let properties: Map<String, Value> = (0..10)
            .map(|i| {
                (
                    format!("p{i}"),
                    json!({ "$ref": format!("#/components/schemas/L{}", level + 1) }),
                )
            })
            .collect();
        schemas.insert(
            format!("L{level}"),
            json!({ "type": "object", "properties": properties }),
        );
    }
    schemas.insert("L12".to_owned(), json!({ "type": "string" }));
    let doc = document(
        "3.1.0",
        json!({ "/wide": { "post": {
                "requestBody": { "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/L0" } } } },
                "responses": { "200": { "description": "ok" } }
            } } }),
        json!({ "schemas": schemas }),
    );
    let generation = generate(&doc).unwrap();
    assert!(body_json(&generation.cases[0]).is_object());
}

#[test]
fn required_query_header_and_cookie_parameters() {
    let doc = document(
        "3.0.3",
        json!({ "/items/{itemId}/notes/{noteId}": {
                "parameters": [
                    { "name": "itemId", "in": "path", "required": true,
                      "schema": { "type": "string", "format": "uuid" } },
                    { "$ref": "#/components/parameters/Tenant" }
                ],
                "get": {
                    "parameters": [
                        { "name": "noteId", "in": "path", "required": true, "example": "a b/c" },
                        { "name": "q", "in": "query", "required": true, "schema": { "type": "string" } },
                        { "name": "page", "in": "query", "required": true,
                          "schema": { "type": "integer", "default": 3 } },
                        { "name": "ids", "in": "query", "required": true,
                          "schema": { "type": "array", "items": { "type": "integer" } },
                          "examples": { "two": { "value": [4, 5] } } },
                        { "name": "sort", "in": "query", "required": false, "schema": { "type": "string" } },
                        { "name": "X-Request-Id", "in": "header", "required": true,
                          "schema": { "type": "string", "format": "uuid" } },
                        { "name": "X-Trace", "in": "header", "required": false, "schema": { "type": "string" } },
                        { "name": "Authorization", "in": "header", "required": true,
                          "schema": { "type": "string" } },
                        { "name": "session", "in": "cookie", "required": true, "example": "abc" }
                    ],
                    "responses": { "200": { "description": "ok" } }
                }
            } }),
        json!({ "parameters": { "Tenant": {
                "name": "X-Tenant", "in": "header", "required": true,
                "schema": { "type": "string", "enum": ["acme", "globex"] }
            } } }),
    );
    let generation = generate(&doc).unwrap();
    assert!(generation.skipped.is_empty(), "{:?}", generation.skipped);
    let request = &http(&generation.cases[0]).request;
    assert_eq!(
        request.url,
        format!("{{{{baseUrl}}}}/items/{SAMPLE_UUID}/notes/a%20b%2Fc")
    );
    assert_eq!(
        request.query,
        [
            kv("q", "string"),
            kv("page", "3"),
            kv("ids", "4"),
            kv("ids", "5")
        ]
    );
    assert_eq!(
        request.headers,
        [
            kv("X-Tenant", "acme"),
            kv("X-Request-Id", SAMPLE_UUID),
            kv("Cookie", "session=abc"),
        ]
    );
}

#[test]
fn unusable_operations_are_skipped() {
    // (`json!` sorts keys, so this document lists methods and paths alphabetically.)
    let ok = json!({ "200": { "description": "ok" } });
    let doc = document(
        "3.0.0",
        json!({
            "/broken": {
                "get": { "parameters": [{ "$ref": "#/components/parameters/Missing" }], "responses": ok },
                "post": { "requestBody": { "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Missing" } } } }, "responses": ok },
                "put": { "requestBody": { "content": { "application/json": {
                    "schema": { "$ref": "other.yaml#/Pet" } } } }, "responses": ok },
                "trace": { "responses": ok },
            },
            "/undeclared/{id}": { "get": { "responses": ok } },
            "/upload": { "post": {
                "requestBody": { "required": true,
                    "content": { "multipart/form-data": { "schema": { "type": "object" } } } },
                "responses": ok } },
            "/fine": { "get": { "responses": ok } },
        }),
        json!({}),
    );
    let generation = generate(&doc).unwrap();
    let cases: Vec<_> = generation
        .cases
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(cases, ["GET /fine"]);
    let skipped: Vec<_> = generation
        .skipped
        .iter()
        .map(|s| s.operation.as_str())
        .collect();
    assert_eq!(
        skipped,
        [
            "GET /broken",
            "POST /broken",
            "PUT /broken",
            "TRACE /broken",
            "GET /undeclared/{id}",
            "POST /upload",
        ]
    );
    let reasons: Vec<_> = generation
        .skipped
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert!(
        reasons[0].contains("#/components/parameters/Missing"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains("#/components/schemas/Missing"),
        "{}",
        reasons[1]
    );
    assert!(reasons[2].contains("other.yaml#/Pet"), "{}", reasons[2]);
    assert!(reasons[3].contains("TRACE"), "{}", reasons[3]);
    assert!(reasons[4].contains("`id`"), "{}", reasons[4]);
    assert!(reasons[5].contains("multipart/form-data"), "{}", reasons[5]);
}

#[test]
fn methods_keep_document_order() {
    let doc = r#"{"openapi": "3.0.0", "info": {"title": "T", "version": "1"}, "paths": {
            "/z": { "post": {"responses": {}}, "delete": {"responses": {}}, "get": {"responses": {}} },
            "/m": "not a path item",
            "/a": { "patch": {"responses": {}}, "head": {"responses": {}}, "options": {"responses": {}} }
        }}"#;
    let generation = generate(doc).unwrap();
    let operations: Vec<_> = generation
        .cases
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(
        operations,
        [
            "POST /z",
            "DELETE /z",
            "GET /z",
            "PATCH /a",
            "HEAD /a",
            "OPTIONS /a"
        ]
    );
    let methods: Vec<_> = generation
        .cases
        .iter()
        .map(|c| http(c).request.method)
        .collect();
    assert_eq!(
        methods,
        [
            HttpMethod::Post,
            HttpMethod::Delete,
            HttpMethod::Get,
            HttpMethod::Patch,
            HttpMethod::Head,
            HttpMethod::Options,
        ]
    );
    assert!(generation.cases.iter().all(|c| status(c) == &any_2xx()));
    assert_eq!(
        generation.skipped,
        [SkippedOperation {
            operation: "/m".to_owned(),
            reason: "the path item is not an object".to_owned(),
        }]
    );
}

#[test]
fn request_body_examples_win_over_schemas() {
    let schema = json!({ "type": "object", "properties": { "a": { "type": "integer" } } });
    let doc = document(
        "3.0.0",
        json!({
            "/one": { "post": { "requestBody": { "content": { "application/json": {
                "schema": schema, "example": { "a": 7 } } } }, "responses": {} } },
            "/many": { "post": { "requestBody": { "content": { "application/json; charset=utf-8": {
                "schema": schema,
                "examples": { "first": { "$ref": "#/components/examples/Eight" } } } } }, "responses": {} } },
            "/vendor": { "post": { "requestBody": { "$ref": "#/components/requestBodies/Patch" }, "responses": {} } },
            "/form": { "post": { "requestBody": { "content": { "application/x-www-form-urlencoded": {
                "schema": { "type": "object", "properties": {
                    "user": { "type": "string", "example": "ann" }, "n": { "type": "integer" } } } } } },
                "responses": {} } },
            "/text": { "post": { "requestBody": { "content": { "text/plain": {
                "example": "hello" } } }, "responses": {} } },
            "/token": { "post": { "requestBody": { "required": true, "content": {
                "multipart/form-data": { "schema": { "type": "object" } },
                "application/jwt": { "schema": { "type": "string" } } } }, "responses": {} } },
            "x-internal": { "note": "an extension, not a path" },
        }),
        json!({
            "examples": { "Eight": { "value": { "a": 8 } } },
            "requestBodies": { "Patch": { "content": { "application/merge-patch+json": {
                "schema": schema } } } },
        }),
    );
    let generation = generate(&doc).unwrap();
    assert!(generation.skipped.is_empty(), "{:?}", generation.skipped);
    let find = |operation: &str| {
        generation
            .cases
            .iter()
            .find(|case| case.operation == operation)
            .unwrap()
    };
    let cases = [
        find("POST /one"),
        find("POST /many"),
        find("POST /vendor"),
        find("POST /form"),
        find("POST /text"),
    ];
    assert_eq!(body_json(cases[0]), &json!({ "a": 7 }));
    assert_eq!(body_json(cases[1]), &json!({ "a": 8 }));
    assert!(http(cases[1]).request.headers.is_empty());
    assert_eq!(body_json(cases[2]), &json!({ "a": 1 }));
    assert_eq!(
        http(cases[2]).request.headers,
        [kv("Content-Type", "application/merge-patch+json")]
    );
    let form = http(cases[3]).request.body.as_ref().unwrap().form.clone();
    assert_eq!(form, Some(vec![kv("n", "1"), kv("user", "ann")]));
    let text = http(cases[4]).request.body.as_ref().unwrap().text.clone();
    assert_eq!(text.as_deref(), Some("hello"));
    assert_eq!(
        http(cases[4]).request.headers,
        [kv("Content-Type", "text/plain")]
    );
    let token = find("POST /token");
    let text = http(token).request.body.as_ref().unwrap().text.clone();
    assert_eq!(text.as_deref(), Some("string"));
    assert_eq!(
        http(token).request.headers,
        [kv("Content-Type", "application/jwt")]
    );
    assert_eq!(generation.cases.len(), 6);
}

#[test]
fn openapi_31_documents() {
    let doc = r##"
openapi: 3.1.0
info: { title: Modern, version: "2" }
servers:
  - url: "https://{region}.example.com/{base}"
    variables:
      region: { default: eu, enum: [eu, us] }
      base: { default: api }
paths:
  /things:
    $ref: '#/components/pathItems/Things'
components:
  pathItems:
    Things:
      post:
        summary: Create a thing
        requestBody:
          content:
            application/json:
              schema:
                type: object
                properties:
                  label: { type: [string, "null"] }
                  size: { type: integer, exclusiveMinimum: 10 }
                  kind: { const: box }
                  pair: { type: array, prefixItems: [{ type: integer }, { type: boolean }] }
                  any: true
                  choice:
                    oneOf:
                      - { type: object, properties: { x: { type: integer } } }
                      - { type: string }
        responses:
          "201": { description: created }
"##;
    let generation = generate(doc).unwrap();
    assert_eq!(generation.title, "Modern");
    assert_eq!(
        generation.base_url.as_deref(),
        Some("https://eu.example.com/api")
    );
    assert_eq!(generation.cases.len(), 1, "{:?}", generation.skipped);
    let case = &generation.cases[0];
    assert_eq!(case.name, "Create a thing");
    assert_eq!(
        body_json(case),
        &json!({
            "label": "string",
            "size": 11,
            "kind": "box",
            "pair": [1, true],
            "any": null,
            "choice": { "x": 1 },
        })
    );
    assert_eq!(status(case), &equals(201));
}

#[test]
fn openapi_30_boolean_exclusive_bounds_are_accepted() {
    let doc = document(
        "3.0.2",
        json!({ "/n": { "post": { "requestBody": { "content": { "application/json": {
                "schema": { "type": "object", "properties": {
                    "low": { "type": "integer", "minimum": 5, "exclusiveMinimum": true },
                    "high": { "type": "integer", "maximum": 0, "exclusiveMaximum": true },
                    "plain": { "type": "integer", "minimum": 5, "exclusiveMinimum": false }
                } } } } }, "responses": {} } } }),
        json!({}),
    );
    let generation = generate(&doc).unwrap();
    assert_eq!(
        body_json(&generation.cases[0]),
        &json!({ "low": 6, "high": -1, "plain": 5 })
    );
}

#[test]
fn invalid_json_names_the_place() {
    let error = generate("{\n  \"openapi\": \"3.0.0\",\n  \"info\": }").unwrap_err();
    match &error {
        OpenApiError::Syntax {
            format,
            line,
            column,
            ..
        } => {
            assert_eq!(*format, "JSON");
            assert_eq!(*line, Some(3));
            assert_eq!(*column, Some(11));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with("the document is not valid JSON"),
        "{message}"
    );
    assert!(message.contains("line 3 column 11"), "{message}");
}

#[test]
fn invalid_yaml_names_the_place() {
    let error = generate("openapi: 3.0.0\ninfo:\n  title: [unclosed\n").unwrap_err();
    match &error {
        OpenApiError::Syntax { format, line, .. } => {
            assert_eq!(*format, "YAML");
            assert!(line.is_some());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.to_string().contains("line"), "{error}");
}

#[test]
fn documents_that_are_not_openapi() {
    assert_eq!(generate("  \n"), Err(OpenApiError::Empty));
    assert!(matches!(
        generate("just some words"),
        Err(OpenApiError::NotOpenApi(_))
    ));
    assert!(matches!(
        generate("[1, 2]"),
        Err(OpenApiError::NotOpenApi(_))
    ));
    let error = generate(r#"{"info": {"title": "x"}}"#).unwrap_err();
    assert!(error.to_string().contains("`openapi`"), "{error}");
    assert_eq!(
        generate("openapi: 3.2.0\ninfo: {title: x, version: '1'}\npaths: {}\n"),
        Err(OpenApiError::UnsupportedVersion("3.2.0".to_owned()))
    );
    assert_eq!(
        generate(r#"{"openapi": "4.0", "info": {"title": "x", "version": "1"}}"#),
        Err(OpenApiError::UnsupportedVersion("4.0".to_owned()))
    );
}

#[test]
fn structurally_invalid_openapi_is_an_error() {
    let error =
        generate(r#"{"openapi": "3.0.0", "info": {"version": "1"}, "paths": {}}"#).unwrap_err();
    assert_eq!(
        error,
        OpenApiError::Invalid("`info.title` is missing or not a string".to_owned())
    );
    assert!(error
        .to_string()
        .starts_with("the OpenAPI document is invalid"));
    let error =
        generate(r#"{"openapi": "3.1.0", "info": {"title": "t"}, "paths": []}"#).unwrap_err();
    assert!(matches!(error, OpenApiError::Invalid(_)), "{error}");
}

#[test]
fn a_bad_part_spoils_only_what_uses_it() {
    let ok = json!({ "200": { "description": "ok" } });
    let doc = json!({
        "openapi": "3.0.3",
        // Parts no case needs are not read, so their mistakes do not matter.
        "info": { "title": "Messy", "version": "1", "contact": { "url": "not a url" } },
        "externalDocs": { "url": "relative/docs" },
        "paths": {
            "/bad-parameter": { "get": {
                "parameters": [{ "name": "x", "in": "formData", "type": "string" }],
                "responses": ok } },
            "/bad-schema": { "post": {
                "requestBody": { "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Broken" } } } },
                "responses": ok } },
            "/bad-path": { "parameters": "nope", "get": { "responses": ok } },
            "/good": { "get": {
                "externalDocs": { "url": "also/relative" },
                "callbacks": { "weird": 1 },
                "responses": { "200": { "description": "ok", "links": { "x": 1 } } }
            } },
        },
        "components": {
            "schemas": { "Broken": { "type": "object", "properties": { "a": { "type": "strin" } } } },
            "securitySchemes": { "oauth": { "type": "oauth2", "flows": {
                "clientCredentials": { "tokenUrl": "/oauth/token", "scopes": {} } } } }
        }
    });
    let generation = generate(&doc.to_string()).unwrap();
    let cases: Vec<_> = generation
        .cases
        .iter()
        .map(|c| c.operation.as_str())
        .collect();
    assert_eq!(cases, ["GET /good"]);
    let skipped: Vec<_> = generation
        .skipped
        .iter()
        .map(|s| (s.operation.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert_eq!(skipped[0].0, "GET /bad-parameter");
    assert!(
        skipped[0].1.starts_with("the operation is invalid"),
        "{}",
        skipped[0].1
    );
    assert!(skipped[0].1.contains("parameters[0]"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, "GET /bad-path");
    assert!(
        skipped[1].1.contains("path's parameters"),
        "{}",
        skipped[1].1
    );
    assert_eq!(skipped[2].0, "POST /bad-schema");
    assert!(
        skipped[2].1.contains("points to an invalid component"),
        "{}",
        skipped[2].1
    );
}

#[test]
fn base_url_and_optional_empty_forms() {
    let doc = json!({
        "openapi": "3.0.0",
        "info": { "title": "t", "version": "1" },
        "servers": [{ "url": "https://api.example.com/v1/" }, { "url": "https://other" }],
        "paths": { "/search": { "get": {
            "requestBody": { "content": { "application/x-www-form-urlencoded": {
                "schema": { "type": "object", "properties": {} } } } },
            "responses": {}
        } } }
    });
    let generation = generate(&doc.to_string()).unwrap();
    assert_eq!(
        generation.base_url.as_deref(),
        Some("https://api.example.com/v1")
    );
    assert!(http(&generation.cases[0]).request.body.is_none());
}

#[test]
fn swagger_2_is_rejected_clearly() {
    let doc = r#"{
          "swagger": "2.0",
          "info": { "title": "Old", "version": "1" },
          "basePath": "/v1",
          "paths": { "/pets": { "get": { "responses": { "200": { "description": "ok" } } } } }
        }"#;
    let error = generate(doc).unwrap_err();
    assert_eq!(
        error,
        OpenApiError::Swagger {
            version: "2.0".to_owned()
        }
    );
    let message = error.to_string();
    assert!(message.contains("Swagger 2.0"), "{message}");
    assert!(message.contains("OpenAPI 3"), "{message}");
    let yaml = generate("swagger: '2.0'\ninfo: {title: Old, version: '1'}\npaths: {}\n");
    assert!(matches!(yaml, Err(OpenApiError::Swagger { .. })));
}

#[test]
fn yaml_flow_style_is_not_mistaken_for_json() {
    let generation =
        generate("{openapi: 3.0.0, info: {title: Flow, version: '1'}, paths: {/a: {get: {}}}}")
            .unwrap();
    assert_eq!(generation.title, "Flow");
    assert_eq!(generation.cases[0].operation, "GET /a");
}

#[test]
fn unquoted_yaml_version_and_no_paths() {
    let generation = generate("openapi: 3.1\ninfo:\n  title: Empty\n  version: '1'\n").unwrap();
    assert_eq!(generation.title, "Empty");
    assert!(generation.base_url.is_none());
    assert!(generation.cases.is_empty());
    assert!(generation.skipped.is_empty());
}

//! The JSON API's OpenAPI document is generated from the handlers and the
//! types they answer with (utoipa). These tests hold it to what the API
//! really does: a route the server answers that the document lacks, or a
//! field of an answer the document does not describe, fails here.
mod support;

use app::domain::core::activity::{self, By, Counted, Event};
use app::domain::core::provisioning;
use app::domain::core::quota::QuotaPolicy;
use app::domain::features::{applications, deployments, phone_numbers};
use app::domain::identity::sessions;
use app::domain::testing::{self, PASSWORD};
use app::model::ActivityKind;
use http::StatusCode;
use serde_json::{json, Value};
use support::{TestApp, MEMBER_PASSWORD};

const ADMIN: &str = "grace@example.com";
const MEMBER: &str = "bob@example.com";

/// A schema with its `$ref` followed (`#/components/schemas/...` only, all
/// utoipa writes).
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/schemas/").expect("a schema reference");
            let target = &document["components"]["schemas"][name];
            assert!(target.is_object(), "{reference} is in the document");
            resolve(document, target)
        }
        None => schema,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What in `value` the schema does not describe, strictly: an object's key
/// that is not among the schema's properties is a problem, as is a missing
/// required key, a wrong type or a value outside an enum.
fn undescribed(document: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(document, schema);
    for combinator in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[combinator].as_array() {
            let tries: Vec<Vec<String>> =
                choices.iter().map(|c| undescribed(document, c, value, at)).collect();
            return match tries.iter().find(|t| t.is_empty()) {
                Some(_) => Vec::new(),
                None => tries.into_iter().flatten().collect(),
            };
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all.iter().flat_map(|s| undescribed(document, s, value, at)).collect();
    }
    let actual = type_of(value);
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let fits = allowed.is_empty()
        || allowed.contains(&actual)
        || (actual == "integer" && allowed.contains(&"number"));
    if !fits {
        return vec![format!("{at} is {actual}, the document says {allowed:?}")];
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(value) {
            return vec![format!("{at} = {value} is not in the document's enum")];
        }
    }
    let mut problems = Vec::new();
    match value {
        Value::Object(fields) => {
            let properties = schema["properties"].as_object();
            for (key, field) in fields {
                match properties.and_then(|p| p.get(key)) {
                    Some(property) => problems.extend(undescribed(
                        document,
                        property,
                        field,
                        &format!("{at}.{key}"),
                    )),
                    None => problems.push(format!("{at}.{key} is not in the document")),
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                if !fields.contains_key(key) {
                    problems.push(format!("{at}.{key} is required by the document but missing"));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                problems.extend(undescribed(
                    document,
                    &schema["items"],
                    item,
                    &format!("{at}[{i}]"),
                ));
            }
        }
        _ => {}
    }
    problems
}

/// Checks an answer of `GET path` against the document: its status must be
/// one the operation lists, and its body must fit that response's schema.
fn check_answer(document: &Value, path: &str, status: StatusCode, body: &Value) {
    let operation_path = path.strip_prefix("/api/v1").unwrap().split('?').next().unwrap();
    let operation = &document["paths"][operation_path]["get"];
    assert!(operation.is_object(), "GET {operation_path} is in the document");
    let response = &operation["responses"][status.as_str()];
    assert!(response.is_object(), "status {status} of GET {path} is in the document");
    let schema = &response["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "the {status} answer of GET {path} has a schema");
    let problems = undescribed(document, schema, body, "body");
    assert!(problems.is_empty(), "GET {path} ({status}): {problems:#?}\n{body:#}");
}

#[test]
fn the_document_is_generated_and_served() {
    support::run(async {
        let app = TestApp::new().await;
        let (status, served) = app.api("/api/v1/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        let generated = serde_json::to_value(server::api_v1::document()).unwrap();
        assert_eq!(served, generated);
        assert!(served["openapi"].as_str().unwrap().starts_with("3.1"), "{}", served["openapi"]);
        assert_eq!(served["servers"][0]["url"], "/api/v1");
        assert_eq!(served["security"], json!([{ "developerKey": [] }]));
        assert_eq!(served["components"]["securitySchemes"]["developerKey"]["scheme"], "bearer");
        let operations: Vec<(&str, &str)> = served["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |m| (path.as_str(), m.as_str()))
            })
            .collect();
        assert_eq!(
            operations,
            [("/activity", "get"), ("/me", "get"), ("/phone-numbers", "get"), ("/users", "get")]
        );
        let parameters: Vec<&str> = served["paths"]["/users"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(parameters, ["search", "sort", "after", "state"]);
    })
}

/// The query parameter `name` of `GET {path}` as the document describes it.
fn parameter<'a>(document: &'a Value, path: &str, name: &str) -> &'a Value {
    let parameters = document["paths"][path]["get"]["parameters"].as_array().unwrap();
    let found = parameters.iter().find(|p| p["name"] == name);
    &found.unwrap_or_else(|| panic!("{path} has no parameter {name}"))["schema"]
}

/// The values a parameter's schema lists (`enum`), as strings.
fn listed(schema: &Value) -> Vec<&str> {
    let values = schema["enum"].as_array().unwrap_or_else(|| panic!("no enum: {schema}"));
    values.iter().map(|v| v.as_str().unwrap()).collect()
}

/// What the document says a query parameter may hold is what the API takes:
/// every value it lists is answered, a value it does not list (or a longer
/// search, or a day in another format) is refused beside the parameter. A
/// generated client offers only these values.
#[test]
fn the_documented_parameter_values_are_the_accepted_ones() {
    support::run(async {
        let app = TestApp::new().await;
        let session = app.sign_up(ADMIN).await;
        let key = app.new_developer_key(&session, PASSWORD).await.0;
        let document = serde_json::to_value(server::api_v1::document()).unwrap();
        let get = |query: String| {
            let key = key.clone();
            let app = &app;
            async move { app.api(&query, Some(&key)).await }
        };
        let refused_at = |(status, body): (StatusCode, Value), field: &str| {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(body["error"]["fields"][0]["field"], field, "{body}");
        };

        for (name, expected) in
            [("sort", ["name", "email", "status"]), ("state", ["all", "enabled", "disabled"])]
        {
            let values = listed(parameter(&document, "/users", name));
            assert_eq!(values, expected, "{name}");
            for value in values {
                let (status, body) = get(format!("/api/v1/users?{name}={value}")).await;
                assert_eq!(status, StatusCode::OK, "{name}={value}: {body}");
            }
            refused_at(get(format!("/api/v1/users?{name}=age")).await, name);
        }

        let search = parameter(&document, "/users", "search");
        let longest = search["maxLength"].as_u64().unwrap() as usize;
        let (status, body) = get(format!("/api/v1/users?search={}", "a".repeat(longest))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        refused_at(
            get(format!("/api/v1/users?search={}", "a".repeat(longest + 1))).await,
            "search",
        );

        let kinds = listed(parameter(&document, "/activity", "kind"));
        // The document's list is drawn from the same one today; this holds
        // it there, should it ever be written out by hand.
        let every: Vec<&str> = ActivityKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, every);
        for kind in kinds {
            let (status, body) = get(format!("/api/v1/activity?kind={kind}")).await;
            assert_eq!(status, StatusCode::OK, "{kind}: {body}");
        }
        refused_at(get("/api/v1/activity?kind=user.sneezed".into()).await, "kind");

        for day in ["from", "to"] {
            assert_eq!(parameter(&document, "/activity", day)["format"], "date", "{day}");
            let (status, body) = get(format!("/api/v1/activity?{day}=2026-12-05")).await;
            assert_eq!(status, StatusCode::OK, "{day}: {body}");
            refused_at(get(format!("/api/v1/activity?{day}=05.12.2026")).await, day);
        }
    })
}

/// The API's routes are registered from the documented handlers alone; the
/// only other routes are the document itself and the JSON 404 for the rest.
/// A route added beside them, here or elsewhere in the server, fails this.
#[test]
fn every_route_under_api_v1_is_in_the_document() {
    let sources = [
        ("api_v1.rs", include_str!("../src/api_v1.rs")),
        ("lib.rs", include_str!("../src/lib.rs")),
        ("main.rs", include_str!("../src/main.rs")),
        ("assets.rs", include_str!("../src/assets.rs")),
        ("health.rs", include_str!("../src/health.rs")),
        ("oauth_callback.rs", include_str!("../src/oauth_callback.rs")),
        ("signed_out.rs", include_str!("../src/signed_out.rs")),
    ];
    for (file, source) in sources {
        // `.routes(routes!(handler))` registers a documented handler.
        let calls = source.match_indices(".route(").chain(source.match_indices(".route_service("));
        for (at, _) in calls {
            let call = &source[at..];
            let open = call.find('(').unwrap();
            let first: String = call[open + 1..]
                .split(',')
                .next()
                .unwrap()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if file == "api_v1.rs" {
                assert!(
                    ["DOCUMENT", "\"/\"", "\"/{*rest}\""].contains(&first.as_str()),
                    "{file}: an API route that is not in the document: .route({first}, ...)"
                );
            } else {
                assert!(
                    !first.contains("/api/"),
                    "{file}: an API route outside api_v1.rs: {first}"
                );
            }
        }
    }
    // And from outside: each documented operation is answered (not the 404
    // every other /api/v1 path gets), and nothing else is.
    support::run(async {
        let app = TestApp::new().await;
        let admin = app.sign_up(ADMIN).await;
        let key = app.new_developer_key(&admin, PASSWORD).await.0;
        let document = serde_json::to_value(server::api_v1::document()).unwrap();
        for path in document["paths"].as_object().unwrap().keys() {
            let (status, _) = app.api(&format!("/api/v1{path}"), Some(&key)).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        for path in ["/api/v1", "/api/v1/account", "/api/v1/me/keys", "/api/v1/users/1"] {
            let (status, body) = app.api(path, Some(&key)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body["error"]["code"], "not_found", "{path}");
            check_answer(&document, "/api/v1/me", StatusCode::UNAUTHORIZED, &body);
        }
        // A documented route asked with another method: 405 with what it
        // does answer, in the same format; nothing runs, nothing is counted.
        let before = testing::Snapshot::take(&app.domain).await;
        for method in [http::Method::POST, http::Method::DELETE] {
            let request = http::Request::builder()
                .method(method.clone())
                .uri("/api/v1/me")
                .header(http::header::AUTHORIZATION, format!("Bearer {key}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let reply = app.send(request).await;
            assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}: {}", reply.body);
            assert!(reply.headers[http::header::ALLOW].to_str().unwrap().contains("GET"));
            assert_eq!(reply.json()["error"]["code"], "method_not_allowed");
            check_answer(&document, "/api/v1/me", StatusCode::UNAUTHORIZED, &reply.json());
        }
        before.assert_unchanged(&app.domain).await;
        // For programs, not pages of other sites: no CORS header, so a
        // browser on another origin reads nothing, and a preflight is
        // refused as any other method. Every answer is kept by no cache.
        let from_elsewhere = |method: http::Method| {
            http::Request::builder()
                .method(method)
                .uri("/api/v1/me")
                .header(http::header::AUTHORIZATION, format!("Bearer {key}"))
                .header(http::header::ORIGIN, "https://elsewhere.example")
                .header("access-control-request-method", "GET")
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let read = app.send(from_elsewhere(http::Method::GET)).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        assert_eq!(read.headers[http::header::CACHE_CONTROL], "no-store");
        let preflight = app.send(from_elsewhere(http::Method::OPTIONS)).await;
        assert_eq!(preflight.status, StatusCode::METHOD_NOT_ALLOWED, "{}", preflight.body);
        // A page of another site posting is refused before any route, in
        // the API's format too; nothing runs, nothing is counted.
        let before = testing::Snapshot::take(&app.domain).await;
        let posted = app.send(from_elsewhere(http::Method::POST)).await;
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
        assert_eq!(posted.json()["error"]["code"], "forbidden", "{}", posted.body);
        assert_eq!(posted.json()["error"]["message"], "Cross-site request refused.");
        assert_eq!(posted.headers[http::header::CACHE_CONTROL], "no-store");
        before.assert_unchanged(&app.domain).await;
        for reply in [&read, &preflight] {
            assert!(!reply.headers.contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN));
        }
    })
}

#[test]
fn every_field_the_api_answers_is_in_the_document() {
    support::run(async {
        let mut app = TestApp::new().await;
        let admin_session = app.sign_up(ADMIN).await;
        let member_session = app.operator_adds_member(ADMIN, MEMBER).await;
        let admin_key = app.new_developer_key(&admin_session, PASSWORD).await.0;
        let member_key = app.new_developer_key(&member_session, MEMBER_PASSWORD).await.0;
        let d = &app.domain;
        let grace = sessions::authenticate(d, &admin_session).await.unwrap();
        // Enough users for a second page, so `next` is a string once.
        let people = (0..30).map(|i| {
            (format!("Person{i}"), "Tester".to_string(), format!("person{i}@example.com"))
        });
        testing::seed_users(d, grace.account_id(), people).await;
        // A number deployed to an application, so `deployed_to` is an object.
        provisioning::stock_local_pool(&d.db, &provisioning::default_pool()).await.unwrap();
        let number = phone_numbers::request(d, &grace.admin().unwrap()).await.unwrap();
        let ivr = applications::create(d, &grace, "IVR").await.unwrap();
        deployments::deploy(d, &grace, number.id, ivr.id).await.unwrap();

        let document = serde_json::to_value(server::api_v1::document()).unwrap();
        let mut answered = Vec::new();
        for (path, key, expected) in [
            ("/api/v1/me", Some(&admin_key), StatusCode::OK),
            ("/api/v1/me", None, StatusCode::UNAUTHORIZED),
            ("/api/v1/users", Some(&admin_key), StatusCode::OK),
            ("/api/v1/users?search=person1&sort=email", Some(&admin_key), StatusCode::OK),
            ("/api/v1/users?sort=age", Some(&admin_key), StatusCode::UNPROCESSABLE_ENTITY),
            ("/api/v1/users", Some(&member_key), StatusCode::FORBIDDEN),
            ("/api/v1/users", None, StatusCode::UNAUTHORIZED),
            ("/api/v1/phone-numbers", Some(&admin_key), StatusCode::OK),
            ("/api/v1/phone-numbers", Some(&member_key), StatusCode::OK),
            ("/api/v1/phone-numbers", None, StatusCode::UNAUTHORIZED),
            ("/api/v1/users?state=enabled", Some(&admin_key), StatusCode::OK),
            ("/api/v1/users?state=asleep", Some(&admin_key), StatusCode::UNPROCESSABLE_ENTITY),
            ("/api/v1/activity", Some(&admin_key), StatusCode::OK),
            ("/api/v1/activity?kind=nope", Some(&admin_key), StatusCode::UNPROCESSABLE_ENTITY),
            ("/api/v1/activity", Some(&member_key), StatusCode::FORBIDDEN),
            ("/api/v1/activity", None, StatusCode::UNAUTHORIZED),
        ] {
            let (status, body) = app.api(path, key.map(String::as_str)).await;
            assert_eq!(status, expected, "{path}: {body}");
            check_answer(&document, path, status, &body);
            answered.push(body);
        }
        // The answers above hold every optional part at least once.
        let first_page = &answered[2];
        let next = first_page["next"].as_str().expect("a second page");
        let (status, second) =
            app.api(&format!("/api/v1/users?after={next}"), Some(&admin_key)).await;
        check_answer(&document, "/api/v1/users", status, &second);
        assert!(second["next"].is_null());
        assert!(answered[4]["error"]["fields"][0]["field"] == "sort");
        assert!(answered[7]["phone_numbers"][0]["deployed_to"]["name"] == "IVR");
        assert!(answered[10]["users"][0]["disabled"] == false);
        assert!(answered[11]["error"]["fields"][0]["field"] == "state");
        // More events than a page, so the activity's `next` is a number once.
        assert!(answered[12]["events"][0]["client_address"].is_null());
        for i in 0..60 {
            let event = Event::new(ActivityKind::JsLibraryAdded, format!("lib {i}")).detail("d");
            activity::record(d, &d.db, By::Member(Counted::assumed(&grace)), event).await.unwrap();
        }
        let (status, page) = app.api("/api/v1/activity", Some(&admin_key)).await;
        check_answer(&document, "/api/v1/activity", status, &page);
        let next = page["next"].as_i64().expect("a second page of activity");
        let (status, older) =
            app.api(&format!("/api/v1/activity?before={next}"), Some(&admin_key)).await;
        check_answer(&document, "/api/v1/activity", status, &older);
        // A disabled user's key is told why, on every route, as documented.
        let bob = sessions::authenticate(d, &member_session).await.unwrap().user_id();
        app::domain::admin::users::disable(d, &grace.admin().unwrap(), bob).await.unwrap();
        for path in ["/api/v1/me", "/api/v1/phone-numbers", "/api/v1/users", "/api/v1/activity"] {
            let (status, body) = app.api(path, Some(&member_key)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            check_answer(&document, path, status, &body);
        }
        // A body declared over the limit is refused on every route, as documented.
        for path in ["/api/v1/me", "/api/v1/phone-numbers", "/api/v1/users", "/api/v1/activity"] {
            let big = "x".repeat(server::security::BODY_MAX + 1);
            let request = http::Request::get(path)
                .header(http::header::CONTENT_LENGTH, big.len())
                .body(axum::body::Body::from(big))
                .unwrap();
            let refused = app.send(request).await;
            assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {}", refused.body);
            check_answer(&document, path, refused.status, &refused.json());
        }
        // Too many requests: the answer, and the header saying when to come
        // back, as documented on every route.
        app.configure(|d| {
            d.quotas = QuotaPolicy::default().with_overrides("api_request.actor=0/1").unwrap()
        });
        for path in ["/api/v1/me", "/api/v1/phone-numbers", "/api/v1/users", "/api/v1/activity"] {
            let request = http::Request::get(path)
                .header(http::header::AUTHORIZATION, format!("Bearer {admin_key}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let refused = app.send(request).await;
            assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{path}: {}", refused.body);
            check_answer(&document, path, refused.status, &refused.json());
            let wait: i64 =
                refused.headers[http::header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
            // Nothing is admitted under a limit of 0: the whole window.
            assert_eq!(wait, 60, "{path}");
            let operation = &document["paths"][path.strip_prefix("/api/v1").unwrap()]["get"];
            let header = &operation["responses"]["429"]["headers"]["Retry-After"];
            assert!(header.is_object(), "{path}: Retry-After is in the document");
            // Any operation may fail on the server (its database): said too.
            assert!(operation["responses"]["500"].is_object(), "{path}: 500 is in the document");
        }
    })
}

/// A request the server does not answer within the request timeout is told
/// so in the API's documented format, on every route, not with the timeout
/// layer's empty body, which a client could not parse as an error.
#[test]
fn a_request_past_the_timeout_is_answered_as_documented() {
    support::run(async {
        use sea_orm::ConnectionTrait;
        let app = TestApp::with_policy(|policy| {
            policy.request_timeout = std::time::Duration::from_millis(200)
        })
        .await;
        // A wrong key is counted: held up behind a transaction that holds
        // the counts (on SQLite the one writing connection), until the
        // timeout has passed.
        let holding = app.domain.begin().await.unwrap();
        if holding.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let lock = "LOCK TABLE quota_counters IN ACCESS EXCLUSIVE MODE";
            holding.execute_unprepared(lock).await.unwrap();
        }
        let document = serde_json::to_value(server::api_v1::document()).unwrap();
        for path in ["/api/v1/me", "/api/v1/phone-numbers", "/api/v1/users", "/api/v1/activity"] {
            let (status, body) = app.api(path, Some("vk_not-a-key-anyone-has")).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
            check_answer(&document, path, status, &body);
            assert_eq!(body["error"]["code"], "unavailable", "{path}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("did not answer within 0.2 seconds"), "{message}");
        }
        drop(holding);
    })
}

/// The check above finds what it should: a field the document lacks, a
/// wrong type, a missing required field.
#[test]
fn the_check_refuses_an_undescribed_field() {
    let document = serde_json::to_value(server::api_v1::document()).unwrap();
    let schema = json!({ "$ref": "#/components/schemas/CurrentUser" });
    let user = json!({
        "id": 1, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
        "is_admin": true, "email_verified": true, "company_name": "Engines"
    });
    assert_eq!(undescribed(&document, &schema, &user, "body"), Vec::<String>::new());
    let mut extra = user.clone();
    extra["password_hash"] = json!("$argon2id$...");
    assert_eq!(
        undescribed(&document, &schema, &extra, "body"),
        ["body.password_hash is not in the document"]
    );
    let mut wrong = user.clone();
    wrong["id"] = json!("1");
    assert_eq!(
        undescribed(&document, &schema, &wrong, "body"),
        ["body.id is string, the document says [\"integer\"]"]
    );
    let mut missing = user;
    missing.as_object_mut().unwrap().remove("email");
    assert_eq!(
        undescribed(&document, &schema, &missing, "body"),
        ["body.email is required by the document but missing"]
    );
}

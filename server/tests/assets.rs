//! What goes over the wire, and for how long browsers keep it: build outputs
//! precompressed and kept for a year, other files revalidated, pages and
//! server-function replies compressed on the fly and never stored, and
//! replies that carry a secret never compressed.
mod support;

use std::io::Read;

use app::domain::testing::PASSWORD;
use axum::body::{to_bytes, Body};
use http::{header, Request, StatusCode};
use leptos::config::LeptosOptions;
use server::assets::{IMMUTABLE, NEVER_STORE, REVALIDATE};
use server::compression::secret_replies;
use support::{run, TestApp};
use tower::ServiceExt;

const WASM: &[u8] = b"\0asm wasm bytes, as cargo-leptos wrote them";
const WASM_BR: &[u8] = b"brotli copy";
const WASM_GZ: &[u8] = b"gzip copy";

/// A site root as the release build writes it: hashed names, compressed copies.
fn site(hashed: bool) -> (tempfile_dir::Dir, LeptosOptions) {
    let dir = tempfile_dir::Dir::new();
    let pkg = dir.path.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("console.0a1b2c.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("console.0a1b2c.wasm.br"), WASM_BR).unwrap();
    std::fs::write(pkg.join("console.0a1b2c.wasm.gz"), WASM_GZ).unwrap();
    std::fs::write(dir.path.join("favicon.svg"), "<svg/>").unwrap();
    let options = LeptosOptions::builder()
        .output_name("console")
        .site_root(dir.path.to_str().unwrap())
        .hash_files(hashed)
        .build();
    (dir, options)
}

mod tempfile_dir {
    /// A scratch directory removed when dropped.
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Dir {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).unwrap();
            let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Dir { path: std::env::temp_dir().join(format!("console-site-{name}")) }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

async fn get(router: &axum::Router, path: &str, accept: Option<&str>) -> support::Reply {
    let mut request = Request::get(path);
    if let Some(encodings) = accept {
        request = request.header(header::ACCEPT_ENCODING, encodings);
    }
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let raw = to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
    support::Reply { status, headers, body: String::from_utf8_lossy(&raw).into_owned(), raw }
}

fn header_of(reply: &support::Reply, name: header::HeaderName) -> Option<&str> {
    reply.headers.get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn build_outputs_go_precompressed_and_are_kept_for_a_year() {
    run(async {
        let (domain, _) = app::domain::testing::fresh_domain().await;
        let (_dir, options) = site(true);
        let router = support::router_with(&domain, false, options);

        let br = get(&router, "/pkg/console.0a1b2c.wasm", Some("gzip, deflate, br")).await;
        assert_eq!(br.status, StatusCode::OK);
        assert_eq!(br.raw, WASM_BR, "the file compressed at build time, not a new compression");
        assert_eq!(header_of(&br, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&br, header::CACHE_CONTROL), Some(IMMUTABLE));

        let gz = get(&router, "/pkg/console.0a1b2c.wasm", Some("gzip")).await;
        assert_eq!(
            (gz.raw.as_slice(), header_of(&gz, header::CONTENT_ENCODING)),
            (WASM_GZ, Some("gzip"))
        );

        let plain = get(&router, "/pkg/console.0a1b2c.wasm", None).await;
        assert_eq!(plain.raw, WASM);
        assert_eq!(header_of(&plain, header::CONTENT_ENCODING), None);
        assert_eq!(header_of(&plain, header::CONTENT_TYPE), Some("application/wasm"));
        assert_eq!(header_of(&plain, header::CACHE_CONTROL), Some(IMMUTABLE));

        // A name the build did not write is not kept: a later deploy may add it.
        let missing = get(&router, "/pkg/console.ffffff.wasm", Some("br")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(header_of(&missing, header::CACHE_CONTROL), Some(NEVER_STORE));

        // Other public files keep their names, so browsers ask again.
        let icon = get(&router, "/favicon.svg", None).await;
        assert_eq!((icon.status, icon.body.as_str()), (StatusCode::OK, "<svg/>"));
        assert_eq!(header_of(&icon, header::CACHE_CONTROL), Some(REVALIDATE));
    })
}

#[test]
fn without_hashed_names_build_outputs_are_revalidated() {
    run(async {
        let (domain, _) = app::domain::testing::fresh_domain().await;
        let (_dir, options) = site(false);
        let router = support::router_with(&domain, false, options);
        let reply = get(&router, "/pkg/console.0a1b2c.wasm", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(header_of(&reply, header::CACHE_CONTROL), Some(REVALIDATE));
    })
}

#[test]
fn a_page_asked_for_with_a_trailing_slash_is_sent_to_its_address() {
    run(async {
        let (domain, _) = app::domain::testing::fresh_domain().await;
        let (_dir, options) = site(true);
        let router = support::router_with(&domain, false, options);
        for (asked, sent_to) in [
            ("/login/", "/login"),
            ("/signup//", "/signup"),
            ("/forgot-password/?sent=1", "/forgot-password?sent=1"),
        ] {
            let reply = get(&router, asked, None).await;
            assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT, "{asked}");
            assert_eq!(header_of(&reply, header::LOCATION), Some(sent_to), "{asked}");
        }
        // Signed in, the console's tabs (signed out, they send to log-in).
        let app = TestApp::new().await;
        let session = app.sign_up("ada@example.com").await;
        for (asked, sent_to) in [
            ("/account/", "/account"),
            ("/account/users/", "/account/users"),
            ("/account/activity/?kind=security", "/account/activity?kind=security"),
        ] {
            let reply = app.page(asked, Some(&session)).await;
            assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT, "{asked}");
            assert_eq!(reply.location(), Some(sent_to), "{asked}");
        }
        // Never to another site: "//host" is a link to that host.
        for asked in ["//evil.example/", "/\\evil.example/", "/%2Fevil.example/"] {
            let reply = get(&router, asked, None).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{asked}");
            assert_eq!(header_of(&reply, header::LOCATION), None, "{asked}");
        }
        // The pages themselves, and a file, are served as they were.
        assert_eq!(get(&router, "/login", None).await.status, StatusCode::OK);
        assert_eq!(get(&router, "/favicon.svg", None).await.status, StatusCode::OK);
    })
}

fn brotli(raw: &[u8]) -> String {
    let mut out = String::new();
    brotli_decompressor::Decompressor::new(raw, 4096).read_to_string(&mut out).unwrap();
    out
}

fn gunzip(raw: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(raw).read_to_string(&mut out).unwrap();
    out
}

fn unzstd(raw: &[u8]) -> String {
    String::from_utf8(zstd::decode_all(raw).unwrap()).unwrap()
}

#[test]
fn pages_and_replies_are_compressed_and_never_stored() {
    run(async {
        let app = TestApp::new().await;
        let session = app.sign_up("grace@example.com").await;
        let plain = app.page("/login", None).await;
        assert_eq!(plain.status, StatusCode::OK);
        assert_eq!(header_of(&plain, header::CONTENT_ENCODING), None, "not asked for");

        let page = |encoding: &'static str| {
            let request = Request::get("/account/users")
                .header(header::ACCEPT, "text/html")
                .header(header::ACCEPT_ENCODING, encoding)
                .header(header::COOKIE, format!("{}={session}", app.session_cookie()));
            app.send(request.body(Body::empty()).unwrap())
        };
        let br = page("br").await;
        assert_eq!(br.status, StatusCode::OK);
        assert_eq!(header_of(&br, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&br, header::CACHE_CONTROL), Some(NEVER_STORE));
        let html = brotli(&br.raw);
        assert!(html.contains("grace@example.com"), "the page itself: {html}");
        assert!(br.raw.len() * 2 < html.len(), "{} bytes for {}", br.raw.len(), html.len());
        let gz = page("gzip").await;
        assert_eq!(header_of(&gz, header::CONTENT_ENCODING), Some("gzip"));
        assert!(gunzip(&gz.raw).contains("grace@example.com"));
        // zstd costs the server about a third of brotli's time at the same
        // size, so a browser that takes all three gets it.
        let zstd = page("gzip, deflate, br, zstd").await;
        assert_eq!(header_of(&zstd, header::CONTENT_ENCODING), Some("zstd"));
        assert!(unzstd(&zstd.raw).contains("grace@example.com"));
        assert_eq!(
            header_of(&page("gzip, deflate, br").await, header::CONTENT_ENCODING),
            Some("br")
        );

        let reply = app
            .send(
                Request::post("/fn/list_users")
                    .header(header::ACCEPT_ENCODING, "br")
                    .header("sec-fetch-site", "same-origin")
                    .header(header::COOKIE, format!("{}={session}", app.session_cookie()))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(header_of(&reply, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&reply, header::CACHE_CONTROL), Some(NEVER_STORE));
        assert!(brotli(&reply.raw).contains("grace@example.com"));
    })
}

#[test]
fn replies_that_carry_a_secret_are_never_compressed() {
    run(async {
        let app = TestApp::new().await;
        let session = app.sign_up("grace@example.com").await;
        let send = |function: &str, form: &str| {
            let request = Request::post(format!("/fn/{function}"))
                .header(header::ACCEPT_ENCODING, "br, gzip, zstd")
                .header("sec-fetch-site", "same-origin")
                .header(header::COOKIE, format!("{}={session}", app.session_cookie()))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned()))
                .unwrap();
            app.send(request)
        };
        let key = send("generate_developer_key", &format!("name=Script&password={PASSWORD}")).await;
        assert_eq!(key.status, StatusCode::OK, "{}", key.body);
        assert!(key.json()["key"].as_str().is_some_and(|k| k.len() > 20), "{}", key.body);
        assert_eq!(header_of(&key, header::CONTENT_ENCODING), None);
        let id = key.json()["row"]["id"].to_string();
        let again = send("regenerate_developer_key", &format!("id={id}&password={PASSWORD}")).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(header_of(&again, header::CONTENT_ENCODING), None);
        let setup = send("begin_two_factor", "").await;
        assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
        assert_eq!(header_of(&setup, header::CONTENT_ENCODING), None);

        // The list of keys holds no secret and is compressed as usual.
        let listed = send("list_developer_keys", "").await;
        assert_eq!(header_of(&listed, header::CONTENT_ENCODING), Some("zstd"));

        // Every path named is a route the server answers.
        for path in secret_replies() {
            let function = path.strip_prefix("/fn/").expect(path);
            assert_ne!(send(function, "").await.status, StatusCode::NOT_FOUND, "{path}");
        }
    })
}

/// The activity CSV is sent as it is read, compressed when asked: the
/// compression reads its stream to the end and once more after it.
#[test]
fn the_activity_download_streams_compressed_to_its_end() {
    run(async {
        let app = TestApp::new().await;
        let session = app.sign_up("grace@example.com").await;
        for encoding in ["br", "gzip", "zstd", "identity"] {
            let request = Request::get("/account/activity.csv")
                .header(header::ACCEPT_ENCODING, encoding)
                .header(header::COOKIE, format!("{}={session}", app.session_cookie()));
            let reply = app.send(request.body(Body::empty()).unwrap()).await;
            assert_eq!(reply.status, StatusCode::OK, "{encoding}");
            let csv = match encoding {
                "br" => brotli(&reply.raw),
                "gzip" => gunzip(&reply.raw),
                "zstd" => unzstd(&reply.raw),
                _ => reply.body.clone(),
            };
            assert!(csv.starts_with("\u{feff}time,actor,kind,"), "{encoding}: {csv}");
            assert!(csv.contains("\"account.signed_up\""), "{encoding}: {csv}");
        }
    })
}

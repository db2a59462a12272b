//! The ceiling of the service benchmarks: a bare axum handler on the same runtime settings as
//! `forbear serve`, reading a POSTed body and answering a constant JSON document. Nothing a real
//! endpoint does (parsing, scoring, auth, metrics) happens here.
//!
//! `bare-axum [ADDR]` (default 127.0.0.1:18102).

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

// The same allocator as the `forbear` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn constant(body: Bytes) -> impl IntoResponse {
    let _ = body.len();
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"probability":0.1,"score":600.0,"risk_band":"C"}"#,
    )
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18102".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let app = Router::new().route("/v1/score", post(constant));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("bare-axum on {addr}");
        axum::serve(listener, app).await
    })
}

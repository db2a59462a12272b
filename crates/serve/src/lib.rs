//! The inference service (`forbear serve`): delinquency-risk scores, next-best contacts and
//! prepaid/postpaid decisions over HTTP, answered from the registry's current bundles.
//!
//! - [`config`]: settings (TOML, `FORBEAR_*` variables), API keys as hashes and their roles;
//! - [`models`]: the snapshot of models, policy and strategy a request is answered with,
//!   verified on load and swapped atomically on reload;
//! - [`facts`]: an account's facts from a request, checked, turned into features by the code
//!   training used;
//! - [`decide`]: what each endpoint does, without HTTP;
//! - [`decisions`]: the decision log (Parquet, rotated) and decision lookup;
//! - [`http`]: problem documents, the JSON extractor, the guard (request id, limits, auth,
//!   timeout, metrics); [`routes`]: thin handlers and the OpenAPI document; [`bulk`]: Arrow
//!   IPC scoring; [`metrics`]: Prometheus text.
//!
//! Handlers never panic on input: every refusal is an RFC 9457 problem naming the field.

// A refusal carries its problem document by value: it is built once per refused request, and
// boxing it everywhere would buy nothing on the path that answers.
#![allow(clippy::result_large_err)]

pub mod bulk;
pub mod config;
pub mod decide;
pub mod decisions;
pub mod facts;
pub mod http;
pub mod metrics;
pub mod models;
pub mod routes;
pub mod state;

pub use config::{ApiKey, Role, ServeConfig};
pub use state::{AppState, CrmFlags, CrmLookup, hash_key};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad settings.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// Models that cannot be served.
    #[error(transparent)]
    Models(#[from] models::LoadError),
    /// The decision log cannot start.
    #[error(transparent)]
    Log(#[from] decisions::LogError),
    /// The address cannot be bound, or serving failed.
    #[error("{addr}: {source}")]
    Io {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The state of a service over `config`: models loaded and verified, decision log started.
pub fn state(config: ServeConfig) -> Result<Arc<AppState>, ServeError> {
    config.check()?;
    let snapshot = models::load(&config, None)?;
    let metrics = Arc::new(metrics::Metrics::default());
    let log = decisions::DecisionLog::start(&config.decision_log, Arc::clone(&metrics))?;
    Ok(Arc::new(AppState::new(config, snapshot, metrics, log)))
}

/// The router with every route, the guard and the limits.
pub fn router(state: Arc<AppState>) -> Router {
    let (routes, _) = routes::documented();
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            http::guard,
        ))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// A running service: its address and a handle to stop it.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// The state it serves from.
    pub state: Arc<AppState>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, flushes the decision log.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Io {
                addr: self.addr,
                source: std::io::Error::other(e.to_string()),
            }),
        }
    }
}

/// Binds and serves in the background (tests and embedding); stop with [`Running::shutdown`].
pub async fn spawn(state: Arc<AppState>) -> Result<Running, ServeError> {
    let addr = state.config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Io { addr, source })?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let app = router(Arc::clone(&state));
    let st = Arc::clone(&state);
    let draining = Arc::clone(&state);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
                draining.draining.store(true, Ordering::Relaxed);
                tracing::info!("shutting down: draining requests in flight");
            })
            .await;
        st.log.close();
        tracing::info!("decision log flushed; stopped");
        served.map_err(|source| ServeError::Io { addr, source })
    });
    tracing::info!(%addr, "listening");
    Ok(Running {
        addr,
        state,
        stop,
        task,
    })
}

/// Serves until SIGTERM or Ctrl-C, reloading the models on SIGHUP.
pub async fn run(state: Arc<AppState>) -> Result<(), ServeError> {
    let running = spawn(Arc::clone(&state)).await?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (mut hup, mut term) = match (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(h), Ok(t)) => (h, t),
            (Err(source), _) | (_, Err(source)) => {
                return Err(ServeError::Io {
                    addr: running.addr,
                    source,
                });
            }
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading models");
                    let _ = state.reload().await;
                }
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    running.shutdown().await
}

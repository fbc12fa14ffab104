//! The service's state, in one place, and its router.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tracealign_dataset::align::Aligner;

use crate::admission::Admission;
use crate::metrics::Metrics;
use crate::registry::{Engine, Registry};
use crate::request_limits::RequestLimits;
use crate::{auth, evaluate, openapi, reward, sandbox_fusion};

/// Everything a handler reaches.
pub struct AppState {
    pub engine: Engine,
    pub registry: Registry,
    pub admission: Admission,
    pub metrics: Metrics,
    pub limits: RequestLimits,
    /// The bearer token every route but `/health` needs, when set.
    pub token: Option<String>,
    /// The tokenizer `/v1/reward` aligns to when a request gives token ids or no tokens.
    pub aligner: Option<Aligner>,
}

/// The routes (see the crate docs), with authentication and metrics around them.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/run_code", post(sandbox_fusion::run_code))
        .route("/submit", post(sandbox_fusion::submit))
        .route("/v1/evaluate", post(evaluate::evaluate))
        .route("/v1/reward", post(reward::reward))
        .layer(from_fn_with_state(state.clone(), auth::require_token))
        .layer(from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// Counts every answer by route and status, with its latency.
async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = match request.uri().path() {
        path @ ("/health" | "/metrics" | "/openapi.json" | "/run_code" | "/submit"
        | "/v1/evaluate" | "/v1/reward") => path.to_string(),
        _ => "other".to_string(),
    };
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics
        .request(&route, response.status().as_u16(), seconds);
    response
}

/// Readiness: the workers are up and the problems prepared (the server answers only then).
async fn health(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let isolation = state.engine.untraced.isolation();
    Json(json!({
        "status": "ok",
        "workers": state.engine.untraced.count(),
        "problems": state.registry.len(),
        "queue": {
            "bound": state.admission.bound(),
            "waiting": state.admission.waiting(),
            "running": state.admission.running(),
        },
        "isolation": {"namespaces": isolation.namespaces, "python": isolation.python},
        "tokenizer": state.aligner.is_some(),
    }))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(
        state.admission.waiting(),
        state.admission.running(),
        state.engine.untraced.count(),
    );
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

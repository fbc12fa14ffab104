//! `GET /openapi.json`: the API described as OpenAPI 3.0, written out by hand from the
//! request and response types of [`crate::sandbox_fusion`], [`crate::evaluate`] and
//! [`crate::reward`] (a test checks every route is in it).

use axum::Json;
use serde_json::{json, Value};

pub async fn document() -> Json<Value> {
    Json(openapi())
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn answer(schema: &str, what: &str) -> Value {
    json!({
        "200": {"description": what, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
        "401": {"description": "a token is set and the request has not got it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "413": {"description": "the body or a field is over its limit (`field` names it)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "422": {"description": "a field is malformed or not acceptable (`field` names it)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "429": {"description": "the queue is full; retry after `Retry-After` seconds", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    })
}

fn post(summary: &str, request: &str, response: &str) -> Value {
    json!({"post": {"summary": summary, "requestBody": body(request), "responses": answer(response, summary)}})
}

pub fn openapi() -> Value {
    let string = json!({"type": "string"});
    let number = json!({"type": "number"});
    let program = json!({"type": "object", "required": ["problem_id"], "properties": {
        "problem_id": string, "sample_id": string,
        "completion": {"type": "string", "description": "appended to the problem's prompt"},
        "code": {"type": "string", "description": "a whole program"},
        "model": string}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "tracealign serve", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Execution and dense rewards for RL on code. /run_code and /submit follow SandboxFusion's API."},
        "paths": {
            "/run_code": post("Run one program (SandboxFusion)", "RunCodeRequest", "RunCodeResponse"),
            "/submit": post("Run a completion against provided stdio tests (SandboxFusion)", "SubmitRequest", "EvalResult"),
            "/v1/evaluate": post("Run many programs against their problems' tests", "EvaluateRequest", "EvaluateResponse"),
            "/v1/reward": post("Scalar, per-line and per-token rewards, fault reports and divergences", "RewardRequest", "RewardResponse"),
            "/health": {"get": {"summary": "Readiness (needs no token)", "responses": {"200": {"description": "ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus text", "responses": {"200": {"description": "metrics", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.0"}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"error": string, "field": {"type": "string", "nullable": true}}},
            "RunCodeRequest": {"type": "object", "required": ["code", "language"], "properties": {
                "code": string, "language": {"type": "string", "enum": ["python", "python3"]},
                "compile_timeout": number, "run_timeout": number, "memory_limit_MB": {"type": "integer"},
                "stdin": string, "files": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
                "fetch_files": {"type": "array", "items": string}}},
            "CommandRunResult": {"type": "object", "properties": {
                "status": {"type": "string", "enum": ["Finished", "Error", "TimeLimitExceeded"]},
                "execution_time": number, "return_code": {"type": "integer", "nullable": true},
                "stdout": string, "stderr": string}},
            "RunCodeResponse": {"type": "object", "properties": {
                "status": {"type": "string", "enum": ["Success", "Failed", "SandboxError"]},
                "message": string,
                "compile_result": {"$ref": "#/components/schemas/CommandRunResult"},
                "run_result": {"$ref": "#/components/schemas/CommandRunResult"},
                "files": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}}}},
            "SubmitRequest": {"type": "object", "required": ["id", "completion", "config"], "properties": {
                "dataset": string, "id": {}, "completion": string,
                "config": {"type": "object", "properties": {"language": string, "run_timeout": number,
                    "provided_data": {"type": "object", "description": "{\"test\": [{\"input\": {\"stdin\": ...}, \"output\": {\"stdout\": ...}}]}"}}}}},
            "EvalResult": {"type": "object", "properties": {
                "id": {}, "accepted": {"type": "boolean"}, "extracted_code": string,
                "tests": {"type": "array", "items": {"type": "object", "properties": {
                    "passed": {"type": "boolean"}, "exec_info": {"$ref": "#/components/schemas/RunCodeResponse"}, "test_info": {}}}}}},
            "EvaluateRequest": {"type": "object", "required": ["samples"], "properties": {
                "problems": {"type": "array", "description": "problems sent along, in any problem-file format"},
                "samples": {"type": "array", "items": program}}},
            "EvaluateResponse": {"type": "object", "properties": {
                "executions": {"type": "array", "description": "runs-file records, in the request's order"},
                "passed": {"type": "integer"}, "total": {"type": "integer"}}},
            "RewardRequest": {"type": "object", "required": ["completions"], "properties": {
                "problems": {"type": "array"},
                "completions": {"type": "array", "items": {"allOf": [program, {"type": "object", "properties": {
                    "token_offsets": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}},
                    "token_ids": {"type": "array", "items": {"type": "integer"}}}}]}},
                "dense": {"type": "string", "enum": ["fault_penalty", "error_line", "fait"]},
                "feedback_budget": {"type": "integer"}}},
            "RewardResponse": {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {
                "sample_id": string, "problem_id": string, "passed": {"type": "boolean"},
                "rewards": {"type": "object", "additionalProperties": number},
                "dense_scheme": string,
                "line_rewards": {"type": "array", "items": number},
                "token_rewards": {"type": "array", "items": number, "nullable": true},
                "token_ids": {"type": "array", "items": {"type": "integer"}, "nullable": true},
                "token_spans": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}, "nullable": true},
                "char_rewards": {"type": "array", "items": number, "nullable": true},
                "completion_offset": {"type": "integer"},
                "fault": {"type": "object"}, "divergence": {"type": "object", "nullable": true},
                "feedback": {"type": "string", "nullable": true}, "execution": {"type": "object"}}}}}},
        }},
    })
}

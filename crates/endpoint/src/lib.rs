//! A client for OpenAI-compatible text generation servers (vLLM, llama.cpp's server, TGI,
//! hosted APIs): `POST /v1/completions` or `/v1/chat/completions`, one completion per
//! request (not every server honours `n`), many requests in flight, transient failures
//! (connection errors, 429, 5xx) retried with exponential back-off.
//!
//! Blocking I/O on a few threads is enough: the server's generation time dominates, and a
//! thread per request in flight keeps the code plain.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value as Json};

/// Which API the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/v1/completions`: the prompt is continued as text.
    Completions,
    /// `/v1/chat/completions`: the prompt is the user's message.
    Chat,
}

/// One generation to ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub prompt: String,
    pub max_tokens: u32,
    pub temperature: f64,
    pub top_p: f64,
    pub stop: Vec<String>,
    /// Servers that take a seed (vLLM, llama.cpp) make sampling repeatable with it.
    pub seed: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{url}: {message} (after {attempts} attempt(s))")]
    Unreachable {
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("{url} answered HTTP {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} answered without text at `{field}`: {body}")]
    NoText {
        url: String,
        field: &'static str,
        body: String,
    },
}

/// A server and the model to ask.
pub struct Endpoint {
    url: String,
    model: String,
    api: Api,
    api_key: Option<String>,
    attempts: u32,
    agent: ureq::Agent,
}

impl Endpoint {
    /// `base` is the server (`http://127.0.0.1:8000`), its `/v1`, or the full route.
    pub fn new(base: &str, model: &str, api: Api) -> Endpoint {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(600)))
            .http_status_as_error(false)
            .build()
            .into();
        Endpoint {
            url: route(base, api),
            model: model.to_string(),
            api,
            api_key: None,
            attempts: 5,
            agent,
        }
    }

    /// Sent as `Authorization: Bearer KEY`.
    pub fn with_api_key(mut self, key: Option<String>) -> Endpoint {
        self.api_key = key;
        self
    }

    /// Attempts per request before giving up (at least 1).
    pub fn with_attempts(mut self, attempts: u32) -> Endpoint {
        self.attempts = attempts.max(1);
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The generated text for one request.
    pub fn complete(&self, request: &Request) -> Result<String, EndpointError> {
        let body = self.body(request);
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                // 0.25 s, 0.5 s, 1 s, ...: long enough for a restarting server.
                std::thread::sleep(Duration::from_millis(250 << (attempt - 1).min(6)));
            }
            let mut post = self.agent.post(&self.url);
            if let Some(key) = &self.api_key {
                post = post.header("Authorization", &format!("Bearer {key}"));
            }
            let mut response = match post.send_json(&body) {
                Ok(response) => response,
                Err(error) => {
                    last = error.to_string();
                    continue;
                }
            };
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            if status == 429 || status >= 500 {
                last = format!("HTTP {status}: {}", cut(&text));
                continue;
            }
            if status != 200 {
                return Err(EndpointError::Refused {
                    url: self.url.clone(),
                    status,
                    body: cut(&text),
                });
            }
            return self.text_of(&text);
        }
        Err(EndpointError::Unreachable {
            url: self.url.clone(),
            message: last,
            attempts: self.attempts,
        })
    }

    /// Runs every request with up to `concurrency` in flight; `done(index, result)` is
    /// called as each finishes (in completion order, from one thread at a time).
    pub fn complete_all(
        &self,
        requests: &[Request],
        concurrency: usize,
        done: impl FnMut(usize, Result<String, EndpointError>) + Send,
    ) {
        let next = AtomicUsize::new(0);
        let done = Mutex::new(done);
        std::thread::scope(|scope| {
            for _ in 0..concurrency.clamp(1, requests.len().max(1)) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(index) else {
                        break;
                    };
                    let result = self.complete(request);
                    (done.lock().expect("no panic while holding it"))(index, result);
                });
            }
        });
    }

    fn body(&self, request: &Request) -> Json {
        let mut body = json!({
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "n": 1,
        });
        if !request.stop.is_empty() {
            // The API takes at most four stop sequences.
            body["stop"] = json!(request.stop.iter().take(4).collect::<Vec<_>>());
        }
        if let Some(seed) = request.seed {
            body["seed"] = json!(seed);
        }
        match self.api {
            Api::Completions => body["prompt"] = json!(request.prompt),
            Api::Chat => body["messages"] = json!([{"role": "user", "content": request.prompt}]),
        }
        body
    }

    fn text_of(&self, body: &str) -> Result<String, EndpointError> {
        let field = match self.api {
            Api::Completions => "/choices/0/text",
            Api::Chat => "/choices/0/message/content",
        };
        serde_json::from_str::<Json>(body)
            .ok()
            .and_then(|json| json.pointer(field).and_then(Json::as_str).map(String::from))
            .ok_or_else(|| EndpointError::NoText {
                url: self.url.clone(),
                field,
                body: cut(body),
            })
    }
}

/// The full route for `base`.
fn route(base: &str, api: Api) -> String {
    let base = base.trim_end_matches('/');
    let path = match api {
        Api::Completions => "completions",
        Api::Chat => "chat/completions",
    };
    if base.ends_with("/completions") {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/{path}")
    } else {
        format!("{base}/v1/{path}")
    }
}

/// Bodies quoted in errors are cut: a server's HTML error page says nothing more.
fn cut(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_accept_a_server_its_v1_or_a_full_route() {
        let chat = Api::Chat;
        assert_eq!(
            route("http://h:8000", Api::Completions),
            "http://h:8000/v1/completions"
        );
        assert_eq!(
            route("http://h:8000/v1/", chat),
            "http://h:8000/v1/chat/completions"
        );
        assert_eq!(
            route("http://h/x/completions", chat),
            "http://h/x/completions"
        );
    }
}

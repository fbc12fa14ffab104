//! Starting and stopping the service: executors started and problems prepared before the
//! first request is taken; a graceful stop (on SIGTERM or SIGINT, or [`RunningServer::
//! shutdown`]) stops taking connections, lets the requests in flight finish, then stops
//! the workers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;
use tracealign_core::Problem;
use tracealign_dataset::align::Aligner;
use tracealign_exec::ExecError;
use tracealign_pipeline::ExecSettings;

use crate::admission::Admission;
use crate::app::{router, AppState};
use crate::metrics::Metrics;
use crate::registry::{Engine, Registry};
use crate::request_limits::RequestLimits;

/// What a server is started with.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Where to listen. Default `127.0.0.1:8080`: loopback only.
    pub addr: SocketAddr,
    /// How programs run; `config.workers` is the number of jobs run at once.
    pub exec: ExecSettings,
    /// Problems prepared at start and addressed by id.
    pub problems: Vec<Problem>,
    /// `/v1/reward`'s tokenizer (token ids in, the server's own tokens out).
    pub tokenizer: Option<TokenizerSource>,
    /// Requests admitted at once (running or waiting); past it, 429.
    pub queue: usize,
    /// The bearer token every route but `/health` needs.
    pub token: Option<String>,
    pub limits: RequestLimits,
    /// Stop gracefully on SIGTERM and SIGINT.
    pub signals: bool,
}

impl ServeSettings {
    /// Defaults: loopback port 8080, no problems, a queue of 64 per worker, no token.
    pub fn new(exec: ExecSettings) -> ServeSettings {
        let queue = 64 * exec.config.workers.max(1);
        ServeSettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            exec,
            problems: Vec::new(),
            tokenizer: None,
            queue,
            token: None,
            limits: RequestLimits::default(),
            signals: false,
        }
    }
}

/// Where `/v1/reward`'s tokenizer comes from.
#[derive(Clone)]
pub enum TokenizerSource {
    /// A Hugging Face `tokenizer.json`, read at start.
    File(PathBuf),
    /// One the caller built (the CLI reads a GGUF model's), `name`d for messages.
    Built { name: String, aligner: Box<Aligner> },
}

impl std::fmt::Debug for TokenizerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenizerSource::File(path) => f.debug_tuple("File").field(path).finish(),
            TokenizerSource::Built { name, .. } => f.debug_tuple("Built").field(name).finish(),
        }
    }
}

/// Why a server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the workers or prepare the problems: {0}")]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Tokenizer(#[from] tracealign_dataset::error::DatasetError),
    #[error("the server's runtime failed: {0}")]
    Runtime(std::io::Error),
}

/// Starts servers.
pub struct Server;

/// A server answering on its own threads.
pub struct RunningServer {
    /// The address it listens on (with the port the system chose for port 0).
    pub addr: SocketAddr,
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Server {
    /// Binds, starts the executors, prepares the problems, then serves on a thread of its
    /// own; returns once requests are answered.
    pub fn start(settings: ServeSettings) -> Result<RunningServer, ServeError> {
        let listener =
            std::net::TcpListener::bind(settings.addr).map_err(|source| ServeError::Bind {
                addr: settings.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(ServeError::Runtime)?;
        listener
            .set_nonblocking(true)
            .map_err(ServeError::Runtime)?;
        let state = Arc::new(state_of(&settings)?);
        let (stop, stopped) = mpsc::channel(4);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(settings.queue + 16)
            .enable_io()
            .enable_time()
            .build()
            .map_err(ServeError::Runtime)?;
        let signals = settings.signals.then(|| stop.clone());
        let thread =
            std::thread::spawn(move || runtime.block_on(serve(listener, state, stopped, signals)));
        Ok(RunningServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

/// The state: executors started, problems prepared, the tokenizer loaded.
fn state_of(settings: &ServeSettings) -> Result<AppState, ServeError> {
    let engine = Engine::start(settings.exec.clone())?;
    let registry = Registry::new(engine.prepare(&settings.problems)?);
    let aligner = match &settings.tokenizer {
        None => None,
        Some(TokenizerSource::File(path)) => Some(Aligner::from_file(path)?),
        Some(TokenizerSource::Built { aligner, .. }) => Some(Aligner::clone(aligner)),
    };
    Ok(AppState {
        admission: Admission::new(settings.queue, engine.untraced.count()),
        engine,
        registry,
        metrics: Metrics::default(),
        limits: settings.limits.clone(),
        token: settings.token.clone(),
        aligner,
    })
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<AppState>,
    mut stopped: mpsc::Receiver<()>,
    signals: Option<mpsc::Sender<()>>,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::from_std(listener).map_err(ServeError::Runtime)?;
    if let Some(stop) = signals {
        listen_for_signals(stop).map_err(ServeError::Runtime)?;
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            stopped.recv().await;
        })
        .await
        .map_err(ServeError::Runtime)
}

/// SIGTERM and SIGINT ask for a graceful stop.
fn listen_for_signals(stop: mpsc::Sender<()>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        let mut received = signal(kind)?;
        let stop = stop.clone();
        tokio::spawn(async move {
            received.recv().await;
            let _ = stop.send(()).await;
        });
    }
    Ok(())
}

impl RunningServer {
    /// Stops taking connections, lets the requests in flight finish, stops the workers.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        let _ = self.stop.try_send(());
        self.join()
    }

    /// Serves until a signal (with `signals`) or [`RunningServer::shutdown`] stops it.
    pub fn wait(mut self) -> Result<(), ServeError> {
        self.join()
    }

    fn join(&mut self) -> Result<(), ServeError> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ServeError::Runtime(std::io::Error::other(
                "the server thread panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.try_send(());
        let _ = self.join();
    }
}

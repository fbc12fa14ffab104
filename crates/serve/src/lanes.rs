//! The service's workers as lanes: one single-worker executor per job slot, each request
//! taking free lanes for as long as it runs programs on them.
//!
//! Why not one executor with `jobs` workers: its `run` binds each of its threads to one
//! worker and the first thread takes the first job, so concurrent requests of one program
//! each (the common RL case) all queue on its first worker while the others idle. A lane is
//! taken only when free, so `jobs` one-program requests run on `jobs` workers at once.
//!
//! Invariants: a lane runs one job at a time (whoever holds it); a thread holds at most one
//! lane and never waits for a second while holding one, so requests cannot deadlock on
//! lanes; every lane is given back when its holder is dropped, panics included.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use tracealign_core::{Execution, Problem, Sample};
use tracealign_exec::{
    ExecError, Executor, Isolation, PreparedProblem, Script, ScriptRun, TraceMode,
};
use tracealign_pipeline::Workers;

/// Single-worker executors, taken one at a time.
pub struct Lanes {
    executors: Vec<Executor>,
    /// Indices of the lanes nobody holds.
    free: Mutex<Vec<usize>>,
    freed: Condvar,
}

/// A lane held; given back when dropped.
pub struct Lane<'a> {
    lanes: &'a Lanes,
    index: usize,
}

impl Deref for Lane<'_> {
    type Target = Executor;

    fn deref(&self) -> &Executor {
        &self.lanes.executors[self.index]
    }
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        let mut free = (self.lanes.free.lock()).unwrap_or_else(|p| p.into_inner());
        free.push(self.index);
        self.lanes.freed.notify_one();
    }
}

impl Lanes {
    /// `workers.settings.config.workers` lanes (at least one) recording `trace`, started
    /// in parallel.
    pub fn start(workers: &Workers, trace: TraceMode) -> Result<Lanes, ExecError> {
        let count = workers.settings.config.workers.max(1);
        let started: Vec<Result<Executor, ExecError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .map(|_| scope.spawn(|| workers.start_with(trace, |config| config.workers = 1)))
                .collect();
            (handles.into_iter())
                .map(|h| h.join().expect("starting a worker does not panic"))
                .collect()
        });
        Ok(Lanes {
            executors: started.into_iter().collect::<Result<_, _>>()?,
            free: Mutex::new((0..count).rev().collect()),
            freed: Condvar::new(),
        })
    }

    /// How many lanes (jobs run at once).
    pub fn count(&self) -> usize {
        self.executors.len()
    }

    /// How isolated jobs are (all lanes are started alike).
    pub fn isolation(&self) -> &Isolation {
        self.executors[0].isolation()
    }

    /// A free lane, waiting for one when all are held.
    pub fn take(&self) -> Lane<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(index) = free.pop() {
                return Lane { lanes: self, index };
            }
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Runs one script on a free lane.
    pub fn run_script(&self, script: &Script) -> Result<ScriptRun, ExecError> {
        self.take().run_script(script)
    }

    /// `problems` prepared (reference results and times), split over the lanes.
    pub fn prepare(
        &self,
        workers: &Workers,
        problems: &[Problem],
    ) -> Result<Vec<PreparedProblem>, ExecError> {
        if problems.is_empty() {
            return Ok(Vec::new());
        }
        let chunk = problems.len().div_ceil(self.count());
        let parts: Vec<Result<Vec<PreparedProblem>, ExecError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (problems.chunks(chunk))
                .map(|part| {
                    scope.spawn(move || {
                        let lane = self.take();
                        workers.prepare(&lane, part)
                    })
                })
                .collect();
            (handles.into_iter())
                .map(|h| h.join().expect("preparing problems does not panic"))
                .collect()
        });
        let mut prepared = Vec::with_capacity(problems.len());
        for part in parts {
            prepared.extend(part?);
        }
        Ok(prepared)
    }

    /// Runs `samples` of `problems` on as many lanes as are free or freed while they run
    /// (at most one per sample), longest first; `done` gets each execution on the calling
    /// thread as it ends. Samples whose problem is not in `problems` are skipped.
    pub fn run(
        &self,
        problems: &[PreparedProblem],
        samples: &[Sample],
        mut done: impl FnMut(Execution),
    ) {
        if samples.len() <= 1 {
            return self.take().run(problems, samples, done);
        }
        let expected = |sample: &Sample| {
            (problems.iter())
                .find(|p| p.id == sample.problem_id)
                .map_or(0.0, PreparedProblem::expected_seconds)
        };
        let mut order: Vec<(f64, usize)> = (samples.iter().enumerate())
            .map(|(index, sample)| (expected(sample), index))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let next = AtomicUsize::new(0);
        let (sender, finished) = mpsc::channel();
        std::thread::scope(|scope| {
            for _ in 0..self.count().min(samples.len()) {
                let (sender, next, order) = (sender.clone(), &next, &order);
                scope.spawn(move || {
                    if next.load(Ordering::Relaxed) >= order.len() {
                        return;
                    }
                    let lane = self.take();
                    while let Some(&(_, index)) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let sample = std::slice::from_ref(&samples[index]);
                        lane.run(problems, sample, |execution| {
                            let _ = sender.send(execution);
                        });
                    }
                });
            }
            drop(sender);
            for execution in finished {
                done(execution);
            }
        });
    }
}

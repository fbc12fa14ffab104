pub mod bench;
pub mod build;
pub mod eval;
pub mod eval_task;
pub mod experiment;
pub mod generate;
pub mod grpo;
pub mod localize;
pub mod mutate;
pub mod pipeline;
pub mod report;
pub mod run;
pub mod serve;
pub mod show;
pub mod trace;
pub mod train;
pub mod workers;

use crate::args::{BenchCommand, Command};

/// Runs one subcommand.
pub fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Trace(args) => trace::trace(args),
        Command::Mutate(args) => mutate::mutate(args),
        Command::Localize(args) => localize::localize(args),
        Command::Show(args) => show::show(args),
        Command::Bench(BenchCommand::Localize(args)) => bench::localize(args),
        Command::Bench(BenchCommand::Suite(args)) => bench::suite(args),
        Command::Build(command) => build::build(command),
        Command::Pipeline(args) => pipeline::pipeline(args),
        Command::Eval(args) => eval::eval(args),
        Command::Report(args) => report::report(args),
        Command::Train(args) => train::train(args),
        Command::Generate(args) => generate::generate(args),
        Command::Experiment(args) => experiment::experiment(args),
        Command::Serve(args) => serve::serve(args),
    }
}

//! `airlock-train injection`: trains the injection model from the shared data and writes
//! the model file the detector ships with. `--check` retrains and fails unless the result
//! equals the shipped file byte for byte.
//!
//! ```sh
//! cargo run --release -p airlock-train -- injection            # writes the shipped model
//! cargo run --release -p airlock-train -- injection --check    # proves it is reproducible
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_core::EventKind;
use airlock_detect::ScanContext;
use airlock_detect::detectors::injection::model::NgramModel;
use airlock_detect::detectors::injection::{InjectionDetector, InjectionOptions};
use airlock_train::{TrainConfig, read_known_attacks, read_records, train_injection};

const USAGE: &str = "usage: airlock-train injection [--data FILE] [--out FILE] [--check] [--config JSON] [--probe JSONL]";

fn default_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/injection.jsonl")
}

fn default_out() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../airlock-detect/models/injection_ngram_v1.bin")
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("airlock-train: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("injection") {
        return Err(USAGE.to_owned());
    }
    let (mut data, mut out, mut check) = (default_data(), default_out(), false);
    let mut probe = None;
    let mut config = TrainConfig::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next().map(PathBuf::from).ok_or(USAGE)?,
            "--out" => out = args.next().map(PathBuf::from).ok_or(USAGE)?,
            "--check" => check = true,
            // `{"id", "text", "context"}` lines to score with the freshly trained model.
            "--probe" => probe = Some(args.next().map(PathBuf::from).ok_or(USAGE)?),
            // For experiments: `--config '{"window_tokens": 64}'` overrides defaults.
            "--config" => {
                let json = args.next().ok_or(USAGE)?;
                config = serde_json::from_str(&json).map_err(|err| format!("--config: {err}"))?;
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let (records, digest) = read_records(&data).map_err(|err| err.to_string())?;
    eprintln!(
        "training on {} ({} records, {digest})",
        data.display(),
        records.len()
    );
    let data_dir = data.parent().map(PathBuf::from).unwrap_or_default();
    let known_attacks = read_known_attacks(&data_dir).map_err(|err| err.to_string())?;
    eprintln!("{} known inserted instructions", known_attacks.len());
    let trained = train_injection(&records, &known_attacks, &digest, &config)
        .map_err(|err| err.to_string())?;
    eprint!("{}", trained.log);
    let bytes = trained.model.to_bytes();
    if let Some(probe) = probe {
        let model = NgramModel::from_bytes(&bytes).map_err(|err| err.to_string())?;
        print_probe_scores(&probe, model)?;
    }
    if check {
        let shipped =
            std::fs::read(&out).map_err(|err| format!("cannot read `{}`: {err}", out.display()))?;
        if shipped == bytes {
            eprintln!("reproduced `{}` byte for byte", out.display());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "retraining does NOT reproduce `{}` ({} bytes shipped, {} retrained); rerun without \
             --check to update it, and commit the new file with the change that caused it",
            out.display(),
            shipped.len(),
            bytes.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    std::fs::write(&out, &bytes)
        .map_err(|err| format!("cannot write `{}`: {err}", out.display()))?;
    eprintln!("wrote `{}` ({} bytes)", out.display(), bytes.len());
    Ok(ExitCode::SUCCESS)
}

/// Scores each `{"id", "text", "context"}` line of `path` (context defaults to `tool_result`)
/// with `model` ensembled with the heuristics, for looking at single texts while tuning.
fn print_probe_scores(path: &Path, model: NgramModel) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        id: serde_json::Value,
        text: String,
        #[serde(default)]
        context: Option<EventKind>,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read `{}`: {err}", path.display()))?;
    let (ensemble, thresholds) = (model.header().ensemble, model.header().thresholds);
    let detector = InjectionDetector::new(InjectionOptions::default())
        .map_err(|problems| format!("{problems:?}"))?
        .with_model(Box::new(model), ensemble, thresholds);
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let probe: Probe = serde_json::from_str(line)
            .map_err(|err| format!("{}:{}: {err}", path.display(), number + 1))?;
        let context = ScanContext::of_kind(probe.context.unwrap_or(EventKind::ToolResult));
        let score = detector.score(&probe.text, context);
        let threshold = detector.thresholds().for_context(context);
        let verdict = if score >= threshold { "FIRES" } else { "-" };
        println!(
            "{:<24} {:<18} {score:.3} / {threshold:.3} {verdict}",
            probe.id.to_string(),
            context.kind.as_str()
        );
    }
    Ok(())
}

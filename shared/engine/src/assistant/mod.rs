//! The AI assistant in the war room (issue 13): what it is shown (`context`) and how its
//! answer reaches the room (`answer`).

pub mod answer;
mod answer_context;
pub mod context;
pub mod knowledge;
pub mod postmortem;
pub mod postmortem_job;

/// A model call in the metrics: the provider as a fixed label, tokens as reported.
pub(crate) fn record_model_call(
    model: &warroom_core::ModelInfo,
    result: Result<Option<warroom_core::TokenUsage>, &warroom_core::ModelError>,
    took: std::time::Duration,
) {
    let provider = match model.provider.as_str() {
        "azure-openai" => "azure_openai",
        "bedrock" => "bedrock",
        _ => "openai_compatible",
    };
    let (outcome, usage) = match result {
        Ok(usage) => (warroom_metrics::ModelOutcome::Ok, usage.unwrap_or_default()),
        Err(warroom_core::ModelError::RateLimited { .. }) => (warroom_metrics::ModelOutcome::RateLimited, Default::default()),
        Err(_) => (warroom_metrics::ModelOutcome::Failed, Default::default()),
    };
    warroom_metrics::model_call(provider, outcome, u64::from(usage.input), u64::from(usage.output), took);
}

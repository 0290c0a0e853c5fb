//! A quick run of the Lambda bench over every function's debug binary: each starts under
//! the Runtime API emulator, answers its event correctly cold and warm, and is measured.
//! The figures of a debug build mean nothing; that the harness and the functions work
//! together as Lambda runs them does.

use std::time::Duration;
use warroom_bench::lambda::{self, Config, Function};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the DynamoDB/SQS emulator (moto) and the functions' debug binaries: run by ./infra/test.sh"]
async fn every_function_answers_its_event_cold_and_warm_under_the_runtime_api_emulator() {
    let bin_dir = lambda::target_dir().join("debug");
    let missing: Vec<&str> = Function::ALL.iter().map(|f| f.binary()).filter(|b| !bin_dir.join(b).is_file()).collect();
    assert!(
        missing.is_empty(),
        "no debug binary for {missing:?} in {}: build them first (cargo build -p incident-intake -p im-events -p card-actions -p oauth-callback -p api -p worker --bins)",
        bin_dir.display()
    );
    let config = Config { bin_dir, functions: Function::ALL.to_vec(), cold: 2, warm: 20 };
    let report = lambda::run(&config).await.unwrap_or_else(|e| panic!("{e}"));
    println!("{}", report.table);
    assert_eq!(report.reports.len(), Function::ALL.len());
    for r in &report.reports {
        assert_eq!((r.ready.len(), r.first_response.len(), r.warm.len()), (2, 2, 20), "{}", r.function);
        assert!(r.first_response.iter().zip(&r.ready).all(|(first, ready)| first >= ready), "{}: answered before asking", r.function);
        assert!(r.warm.iter().all(|d| *d < Duration::from_secs(30)), "{}", r.function);
        assert!(r.rss_first > 0 && r.rss_end > 0 && r.stripped_size > 0, "{}: {r:?}", r.function);
    }
}

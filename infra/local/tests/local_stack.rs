//! `warroom-local` as a person runs it: the real binary as a process on a free port with a
//! temporary data directory, driven over HTTP and by `infra/demo.sh`, stopped with SIGTERM
//! (or killed) and started again on the same data directory.

mod support;

use serde_json::json;
use std::process::Command;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_script_passes_and_the_incident_its_war_room_and_timeline_survive_a_restart() {
    let data = temp_dir("demo");
    let stack = Stack::start(&data, &[]);
    assert!(stack.printed().contains("admin key:"), "the first start prints the keys:\n{}", stack.printed());
    let health = reqwest::get(format!("{}/healthz", stack.url)).await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap()), (200, "ok".to_string()));

    let demo = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../demo.sh"))
        .env("WARROOM_URL", &stack.url)
        .env("WARROOM_DATA_DIR", &data)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&demo.stdout), String::from_utf8_lossy(&demo.stderr));
    assert!(demo.status.success(), "infra/demo.sh failed:\n{said}\n--- warroom-local:\n{}", stack.stderr.lock().unwrap());
    assert!(said.contains("demo: OK") && said.contains("status_changed") && said.contains("war_room_dismissed"), "{said}");

    let admin = keys(&data)["admin_key"].as_str().unwrap().to_string();
    let (incident, room, timeline) = snapshot(&stack, &admin).await;
    assert_eq!((incident["status"].as_str(), room["state"].as_str()), (Some("resolved"), Some("dismissed")));
    let said = stack.stop();
    assert!(said.contains("stopped"), "{said}");

    let again = Stack::start(&data, &[]);
    assert!(!again.printed().contains("admin key:"), "keys are printed once:\n{}", again.printed());
    let (incident_after, room_after, timeline_after) = snapshot(&again, &admin).await;
    assert_eq!(incident_after, incident);
    assert_eq!(room_after, room);
    assert_eq!(timeline_after, timeline);

    // The sandboxes are new, the integrations were brought up to date: war rooms still open,
    // in a channel that is not the old one.
    let intake = keys(&data)["intake_key"].as_str().unwrap().to_string();
    let second = fire(&again, &intake, "after-restart").await;
    let new_room = wait_for_open_room(&again, &admin, &second).await;
    assert_ne!(new_room["chat_id"], room["chat_id"]);
    again.stop();
    let _ = std::fs::remove_dir_all(&data);
}

/// Fires an incident at a stack with no worker loops (its jobs stay queued), ends that
/// process with `end`, and checks the next start restores the job and opens the room.
async fn a_job_left_queued_runs_after_the_next_start(name: &str, end: impl FnOnce(Stack)) {
    let data = temp_dir(name);
    let idle = Stack::start(&data, &["--workers", "0"]);
    let k = keys(&data);
    let (admin, intake) = (k["admin_key"].as_str().unwrap(), k["intake_key"].as_str().unwrap());
    let incident = fire(&idle, intake, &format!("{name}-1")).await;
    end(idle);

    let busy = Stack::start(&data, &[]);
    assert!(busy.printed().contains("Restored 1 queued job(s)"), "{}", busy.printed());
    let room = wait_for_open_room(&busy, admin, &incident).await;
    assert_eq!(room["invited"], json!(["U_ADA"]));
    busy.stop();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_still_queued_at_shutdown_run_after_the_next_start() {
    a_job_left_queued_runs_after_the_next_start("queued", |idle| {
        let said = idle.stop();
        assert!(said.contains("1 queued job(s)") && said.contains("queue.journal"), "{said}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_queued_when_the_process_is_killed_runs_after_the_next_start() {
    a_job_left_queued_runs_after_the_next_start("killed-queued", Stack::kill).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_file_left_by_an_older_version_is_taken_into_the_journal_once() {
    let data = temp_dir("legacy-queue");
    Stack::start(&data, &["--workers", "0"]).stop();
    let k = keys(&data);
    let (tenant, admin) = (k["tenant_id"].as_str().unwrap(), k["admin_key"].as_str().unwrap());
    let job = |incident: &str| json!({"tenant_id": tenant, "kind": "reconcile", "incident_id": incident, "dedup_key": "reconcile-v1"});
    let saved = json!({"version": 1, "saved_at": "2026-01-01T00:00:00Z", "jobs": [job("inc_gone1")], "dead_letters": [job("inc_gone2")]});
    std::fs::write(data.join("queue.json"), saved.to_string()).unwrap();

    let stack = Stack::start(&data, &["--workers", "0"]);
    assert!(stack.printed().contains("Restored 1 queued job(s) and 1 dead letter(s)"), "{}", stack.printed());
    assert!(!data.join("queue.json").exists(), "read once");
    let dead = get(&format!("{}/api/v1/dead-letters", stack.url), admin).await;
    let dead = dead["dead_letters"].as_array().unwrap();
    assert_eq!((dead.len(), &dead[0]["job"]["incident_id"]), (1, &json!("inc_gone2")), "{dead:?}");
    let said = stack.stop();
    assert!(said.contains("1 queued job(s) and 1 dead letter(s) kept in"), "{said}");
    let _ = std::fs::remove_dir_all(&data);
}

//! The war-room flow on the AWS adapters: DynamoDB and SQS FIFO through the emulator the
//! test script starts (or the endpoints in WARROOM_DYNAMODB_ENDPOINT / WARROOM_SQS_ENDPOINT).

mod common;

use axum::http::StatusCode;
use common::{event, App};
use std::sync::Arc;
use std::time::Duration;
use warroom_core::*;
use warroom_store::dynamo::DynamoStore;
use warroom_testkit::aws;

async fn app_on_aws() -> App {
    let dynamo = aws::dynamodb_client();
    let table = aws::unique_name("warroom-e2e");
    DynamoStore::create_table(&dynamo, &table).await.expect("table");
    let queue = warroom_queue::create_fifo(&aws::sqs_client(), &aws::unique_name("warroom-e2e"), Duration::from_secs(30), 5).await.expect("queue");
    let clock = Arc::new(ManualClock::at(SystemClock.now()));
    App::with(Arc::new(DynamoStore::new(dynamo, table)), Arc::new(queue), None, clock).await
}

#[tokio::test]
#[ignore = "needs the DynamoDB and SQS emulator: run ./infra/test.sh"]
async fn a_webhook_opens_a_war_room_and_a_click_reaches_the_source_on_dynamodb_and_sqs() {
    let app = app_on_aws().await;
    let (code, body) = app.hook(event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    app.drain().await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Open);
    let chat = app.fake.chat(inc.war_room.chat_id.as_ref().unwrap().as_str()).unwrap();
    assert_eq!(chat.members.len(), 2);

    let (code, _) = app.click("U_ADA", &inc.id, CardAction::Acknowledge, "d-1").await;
    assert_eq!(code, StatusCode::OK);
    app.drain().await;
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged);
    assert_eq!(app.receiver.all().len(), 1, "the source got its signed callback");
    let actions: Vec<_> = app.timeline(&inc).await.into_iter().map(|e| e.action).collect();
    for expected in [TimelineAction::WarRoomCreated, TimelineAction::StatusChanged, TimelineAction::SyncedToSource, TimelineAction::CardUpdated] {
        assert!(actions.contains(&expected), "{expected:?} missing from {actions:?}");
    }
}

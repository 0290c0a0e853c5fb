use super::*;

#[test]
fn valid_ids_pass_through_and_others_are_hashed_to_64_hex_characters() {
    let job = Job::reconcile("ten_1".into(), "inc_1".into(), 7);
    assert_eq!(sqs_id(&job.dedup_id()), job.dedup_id());
    let punctuation = r##"a!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~z"##;
    assert_eq!(sqs_id(punctuation), punctuation);
    assert_eq!(sqs_id(&"x".repeat(128)), "x".repeat(128));

    for bad in ["x".repeat(129), "with space".into(), "ünïcode".into(), String::new()] {
        let id = sqs_id(&bad);
        assert_eq!(id.len(), 64, "{bad:?}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, sqs_id(&bad), "stable");
    }
    assert_ne!(sqs_id(&"x".repeat(129)), sqs_id(&"x".repeat(130)));
}

#[test]
fn durations_round_up_to_whole_seconds() {
    assert_eq!(ceil_secs(Duration::ZERO), 0);
    assert_eq!(ceil_secs(Duration::from_millis(300)), 1);
    assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
    assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
}

fn emulator_client() -> Client {
    let endpoint =
        std::env::var("WARROOM_SQS_ENDPOINT").expect("WARROOM_SQS_ENDPOINT is not set: run the suite with ./infra/test.sh, which starts the emulator");
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
#[ignore = "needs the SQS emulator: run infra/test.sh"]
async fn smoke_send_receive_defer_ack_and_redrive_on_the_emulator() {
    let client = emulator_client();
    let name = format!("smoke-{}", warroom_core::ids::random_suffix());
    let q = create_fifo(&client, &name, Duration::from_secs(30), 2).await.unwrap();
    let job = Job::reconcile("t1".into(), "inc_a".into(), 1);
    let long_key = Job::new(
        "t1".into(),
        warroom_core::JobKind::PostMortem { incident_id: "inc_a".into(), requested_by: None, chat_id: None, request: String::new() },
        "k ".repeat(100),
    );

    q.send(&job).await.unwrap();
    q.send(&job).await.unwrap(); // deduplicated
    q.send(&long_key).await.unwrap(); // hashed dedup id
    let got = q.receive(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].job().unwrap(), job);
    assert_eq!(got[0].group, job.group());
    assert_eq!(got[0].receive_count, 1);
    assert_eq!(got[1].job().unwrap(), long_key);
    assert!(q.receive(10, Duration::ZERO).await.unwrap().is_empty(), "the group is in flight");

    // Defer 0 → visible again; the second receive counts 2, then the message dies.
    q.defer(&got[0].receipt, Duration::ZERO).await.unwrap();
    q.defer(&got[1].receipt, Duration::ZERO).await.unwrap();
    let again = q.receive(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(again.iter().map(|d| d.receive_count).collect::<Vec<_>>(), vec![2, 2]);
    q.ack(&again[1].receipt).await.unwrap();
    q.defer(&again[0].receipt, Duration::ZERO).await.unwrap();
    assert!(q.receive(10, Duration::from_secs(1)).await.unwrap().is_empty(), "moved to the DLQ");

    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].job().unwrap(), job);
    assert_eq!(q.redrive_dead_letters().await.unwrap(), 1);
    assert!(q.dead_letters(10).await.unwrap().is_empty());
    let back = q.receive(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].job().unwrap(), job);
    assert_eq!(back[0].group, job.group());
    assert_eq!(back[0].receive_count, 1);
    q.ack(&back[0].receipt).await.unwrap();

    assert!(matches!(q.defer("not-a-receipt", Duration::ZERO).await, Err(QueueError::StaleReceipt)));
    assert!(matches!(q.receive(11, Duration::ZERO).await, Err(QueueError::Invalid(_))));
}

fn service(code: &'static str, message: &'static str, status: u16) -> Failure<'static> {
    Failure::Service { code, message, status }
}

#[test]
fn sdk_failures_map_to_retryable_stale_invalid_or_fatal() {
    let retryable = |e: &QueueError| e.is_retryable();
    assert!(retryable(&classify(Failure::Transport, false, "x".into())));
    assert!(retryable(&classify(service("ThrottlingException", "slow down", 400), false, "x".into())));
    assert!(retryable(&classify(service("RequestThrottled", "", 403), true, "x".into())));
    assert!(retryable(&classify(service("InternalError", "", 500), false, "x".into())));
    assert!(retryable(&classify(service("Whatever", "", 503), true, "x".into())));

    for (code, message) in [
        ("ReceiptHandleIsInvalid", "The input receipt handle is invalid."),
        ("AWS.SimpleQueueService.MessageNotInflight", ""),
        ("InvalidParameterValue", "Value x for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."),
    ] {
        assert!(matches!(classify(service(code, message, 400), true, "x".into()), QueueError::StaleReceipt), "{code}");
        assert!(!matches!(classify(service(code, message, 400), false, "x".into()), QueueError::StaleReceipt), "{code}");
    }
    let too_long = service("InvalidParameterValue", "Total VisibilityTimeout for the message is beyond the limit", 400);
    assert!(matches!(classify(too_long, true, "x".into()), QueueError::Invalid(_)));
    let missing = classify(service("AWS.SimpleQueueService.NonExistentQueue", "", 400), false, "x".into());
    assert!(matches!(missing, QueueError::Unavailable { retryable: false, .. }));
    assert!(matches!(classify(Failure::Other, false, "x".into()), QueueError::Unavailable { retryable: false, .. }));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_retryable_unavailable() {
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "static"))
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .endpoint_url("http://127.0.0.1:1")
        .build();
    let q = SqsQueue::new(Client::from_conf(config), "http://127.0.0.1:1/000000000000/q.fifo".into(), None);
    let err = q.send(&Job::reconcile("t1".into(), "inc_a".into(), 1)).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(matches!(q.dead_letters(1).await, Err(QueueError::Invalid(_))), "no DLQ url given");
}

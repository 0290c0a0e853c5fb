use super::*;

fn fake() -> FakePlatform {
    let f = FakePlatform::new(Platform::Slack);
    f.add_user("U1", "Ada", Some("ada@example.com"), Some("+8613800000001"))
        .add_user("U2", "Bob", Some("bob@example.com"), None)
        .add_user("U3", "Cy", None, None);
    f
}

fn req(name: &str, key: &str) -> CreateChat {
    CreateChat { name: name.into(), topic: "disk full".into(), private: true, idempotency_key: key.into() }
}

fn card(title: &str) -> Card {
    Card {
        incident_id: "inc_1".into(),
        title: title.into(),
        status: Status::Triggered,
        severity: Severity::Critical,
        snoozed_until: None,
        fields: vec![],
        actions: vec![CardAction::Acknowledge],
        url: None,
    }
}

fn users(ids: &[&str]) -> Vec<ImUserId> {
    ids.iter().map(|&u| u.into()).collect()
}

#[tokio::test]
async fn a_retried_create_with_the_same_key_returns_the_same_chat() {
    let f = fake();
    let a = f.create_chat(&req("inc-1", "k1")).await.unwrap();
    let b = f.create_chat(&req("inc-1", "k1")).await.unwrap();
    assert_eq!(a.chat_id, b.chat_id);
    assert_eq!(a.chat_id.as_str(), "C0001");
    assert_eq!(f.chats().len(), 1);
    assert_eq!(f.calls(), vec!["create_chat name=inc-1 key=k1", "create_chat name=inc-1 key=k1"]);
}

#[tokio::test]
async fn without_idempotent_create_a_retry_runs_into_the_taken_name() {
    let f = fake();
    f.set_capabilities(Capabilities { idempotent_create: false, ..f.capabilities() });
    f.create_chat(&req("inc-1", "k1")).await.unwrap();
    let err = f.create_chat(&req("inc-1", "k1")).await.unwrap_err();
    assert!(matches!(err, ImError::Rejected { ref code, .. } if code == "name_taken"), "{err:?}");
}

#[tokio::test]
async fn a_taken_name_with_another_key_is_rejected_until_that_chat_is_disbanded() {
    let f = fake();
    let first = f.create_chat(&req("inc-1", "k1")).await.unwrap();
    let err = f.create_chat(&req("inc-1", "k2")).await.unwrap_err();
    assert!(matches!(err, ImError::Rejected { ref code, .. } if code == "name_taken"), "{err:?}");
    assert_eq!(f.chats().len(), 1);
    f.disband_from_inside(first.chat_id.as_str());
    let second = f.create_chat(&req("inc-1", "k2")).await.unwrap();
    assert_eq!(second.chat_id.as_str(), "C0002");
}

#[tokio::test]
async fn a_failed_invite_for_one_user_does_not_stop_the_others() {
    let f = fake();
    f.fail_invite("U2", ImError::Rejected { code: "cant_invite".into(), message: "restricted".into() });
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    f.add_members(&chat, &users(&["U1"])).await.unwrap();
    let r = f.add_members(&chat, &users(&["U1", "U2", "U9", "U3"])).await.unwrap();
    assert_eq!(r.invited, users(&["U1", "U3"]), "already a member counts as invited");
    assert_eq!(r.failed.len(), 2);
    assert!(matches!(r.failed[0], (ref u, ImError::Rejected { .. }) if u.as_str() == "U2"));
    assert_eq!(r.failed[1], ("U9".into(), ImError::UserNotFound));
    let members: Vec<_> = f.chat("C0001").unwrap().members.into_iter().collect();
    assert_eq!(members, users(&["U1", "U3"]));
    assert!(f.calls().contains(&"add_members C0001 [U1,U2,U9,U3]".to_string()));
}

#[tokio::test]
async fn inviting_into_a_gone_chat_fails_the_whole_call() {
    let f = fake();
    assert_eq!(f.add_members(&"C0042".into(), &users(&["U1"])).await, Err(ImError::ChatGone));
}

#[tokio::test]
async fn an_injected_one_shot_failure_fails_once_then_the_call_succeeds() {
    let f = fake();
    f.fail_next(FakeOp::CreateChat, ImError::Transient("502".into()));
    assert_eq!(f.create_chat(&req("inc-1", "k1")).await, Err(ImError::Transient("502".into())));
    assert!(f.chats().is_empty(), "a failed create creates nothing");
    let created = f.create_chat(&req("inc-1", "k1")).await.unwrap();
    assert_eq!(created.chat_id.as_str(), "C0001");
    assert_eq!(f.calls().len(), 2);
}

#[tokio::test]
async fn a_standing_failure_lasts_until_cleared() {
    let f = fake();
    let limited = ImError::RateLimited { retry_after: Duration::from_secs(3) };
    f.fail_always(FakeOp::LookupEmail, limited.clone());
    assert_eq!(f.lookup_by_email("ada@example.com").await, Err(limited.clone()));
    assert_eq!(f.lookup_by_email("ada@example.com").await, Err(limited));
    f.clear_failures();
    assert_eq!(f.lookup_by_email("ADA@example.com").await, Ok(Some("U1".into())));
}

#[tokio::test]
async fn a_create_that_fails_after_creating_leaves_a_chat_the_retry_finds() {
    let f = fake();
    f.fail_after_create_next();
    assert!(matches!(f.create_chat(&req("inc-1", "k1")).await, Err(ImError::Transient(_))));
    assert_eq!(f.chats().len(), 1);
    let retried = f.create_chat(&req("inc-1", "k1")).await.unwrap();
    assert_eq!(retried.chat_id.as_str(), "C0001");
    assert_eq!(f.chats().len(), 1);
}

#[tokio::test]
async fn a_disbanded_chat_refuses_posts() {
    let f = fake();
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    let msg = f.post_card(&chat, &card("v1")).await.unwrap();
    f.disband_from_inside(chat.as_str());
    assert_eq!(f.post_card(&chat, &card("v2")).await, Err(ImError::ChatGone));
    assert_eq!(f.send_text(&chat, "hello").await, Err(ImError::ChatGone));
    assert_eq!(f.update_card(&chat, &msg, &card("v2")).await, Err(ImError::ChatGone));
    assert_eq!(f.chat_history(&chat).await, Err(ImError::ChatGone));
    assert_eq!(f.dismiss_chat(&chat).await, Ok(()), "dismissing a gone chat is idempotent");
    assert!(f.list_bot_chats().await.unwrap().is_empty());
    assert_eq!(f.card_of(chat.as_str()).unwrap().title, "v1");
}

#[tokio::test]
async fn cards_update_in_place_and_unknown_messages_are_rejected() {
    let f = fake();
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    let msg = f.post_card(&chat, &card("v1")).await.unwrap();
    f.update_card(&chat, &msg, &card("v2")).await.unwrap();
    let c = f.chat(chat.as_str()).unwrap();
    assert_eq!((c.messages.len(), c.messages[0].edits), (1, 1));
    assert_eq!(f.card_of(chat.as_str()).unwrap().title, "v2");
    let err = f.update_card(&chat, &"M0999".into(), &card("v3")).await.unwrap_err();
    assert!(matches!(err, ImError::Rejected { ref code, .. } if code == "message_not_found"), "{err:?}");
}

#[tokio::test]
async fn history_returns_said_messages_oldest_first() {
    let f = fake();
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    f.add_members(&chat, &users(&["U1", "U2"])).await.unwrap();
    f.post_card(&chat, &card("v1")).await.unwrap();
    f.say(chat.as_str(), "U1", "looking at db-1");
    f.send_text(&chat, "acknowledged by Ada").await.unwrap();
    f.say(chat.as_str(), "U2", "disk cleaned");
    let h = f.chat_history(&chat).await.unwrap();
    let got: Vec<_> = h.iter().map(|m| (m.author.as_str(), m.text.as_str())).collect();
    assert_eq!(got, vec![("U1", "looking at db-1"), (BOT, "acknowledged by Ada"), ("U2", "disk cleaned")]);
    assert!(h.windows(2).all(|w| w[0].at < w[1].at));
}

#[tokio::test]
async fn missing_capabilities_are_refused_and_dismiss_becomes_leave() {
    let f = fake();
    f.set_capabilities(Capabilities { dismiss: false, history: false, update_card: false, ..f.capabilities() });
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    let msg = f.post_card(&chat, &card("v1")).await.unwrap();
    assert!(matches!(f.update_card(&chat, &msg, &card("v2")).await, Err(ImError::Rejected { .. })));
    assert!(matches!(f.chat_history(&chat).await, Err(ImError::Rejected { .. })));
    f.dismiss_chat(&chat).await.unwrap();
    let c = f.chat(chat.as_str()).unwrap();
    assert!(c.bot_left && !c.disbanded);
    assert_eq!(f.send_text(&chat, "still here?").await, Err(ImError::ChatGone));
}

#[tokio::test]
async fn lookups_match_exactly_and_miss_with_none() {
    let f = fake();
    assert_eq!(f.lookup_by_email("Bob@Example.com").await, Ok(Some("U2".into())));
    assert_eq!(f.lookup_by_email("bob@example.org").await, Ok(None));
    assert_eq!(f.lookup_by_phone("+8613800000001").await, Ok(Some("U1".into())));
    assert_eq!(f.lookup_by_phone("+86138").await, Ok(None));
}

#[test]
fn message_calls_take_the_app_bucket_and_the_chat_bucket() {
    let f = FakePlatform::new(Platform::Feishu);
    let chat = ChatId::from("C0001");
    let keys = |family| f.buckets(family, Some(&chat)).into_iter().map(|b| b.key).collect::<Vec<_>>();
    assert_eq!(keys(ApiFamily::Message), vec!["fake.feishu.app", "fake.feishu.chat.C0001"]);
    assert_eq!(keys(ApiFamily::CreateChat), vec!["fake.feishu.app"]);
    assert_eq!(f.buckets(ApiFamily::Message, Some(&chat))[1].capacity, 5);
}

#[tokio::test]
async fn the_factory_hands_out_registered_fakes_and_refuses_others() {
    let tenant = crate::fixtures::tenant_id();
    let integration = crate::fixtures::integration(&tenant, Platform::Slack);
    let factory = FakeFactory::new();
    assert!(matches!(factory.for_integration(&integration), Err(ImError::Unauthorized(_))));
    let f = fake();
    factory.insert(integration.id.clone(), f.clone());
    let p = factory.for_integration(&integration).unwrap();
    p.create_chat(&req("inc-1", "k1")).await.unwrap();
    assert_eq!(f.chats().len(), 1, "the handed-out platform shares the test's state");
    assert_eq!(p.granted_scopes().await.unwrap().len(), factory.required_scopes(Platform::Slack).len());
    let other = crate::fixtures::integration(&tenant, Platform::Feishu);
    factory.insert(other.id.clone(), f);
    assert!(matches!(factory.for_integration(&other), Err(ImError::Unauthorized(_))));
}

#[tokio::test]
async fn a_lost_answer_takes_effect_then_fails_once() {
    let f = fake();
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    f.lose_answer_next(FakeOp::PostCard);
    assert!(matches!(f.post_card(&chat, &card("A")).await, Err(ImError::Transient(_))));
    assert_eq!(f.cards_in(chat.as_str()), 1, "posted although the answer was lost");
    f.post_card(&chat, &card("A")).await.unwrap();
    assert_eq!((f.cards_in(chat.as_str()), f.answers_lost()), (2, 1), "posts are not idempotent by default, as on Slack");
}

#[tokio::test]
async fn a_lost_card_is_found_by_lookup_or_answered_again_by_its_key_depending_on_the_platform() {
    let f = fake();
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    let first = f.post_card(&chat, &card("A")).await.unwrap();
    let later = Card { status: Status::Acknowledged, ..card("A") };
    assert_eq!(f.find_card(&chat, &later).await, Ok(Some(first.clone())), "Slack-like: found in the history");
    assert_eq!(f.find_card(&chat, &Card { incident_id: "inc_2".into(), ..card("A") }).await, Ok(None));
    f.set_card_dedupe(CardDedupe::IdempotencyKey);
    assert_eq!(f.find_card(&chat, &later).await, Ok(None), "Feishu-like: no search");
    assert_eq!(f.post_card(&chat, &later).await, Ok(first), "the same incident's card, unchanged");
    assert_eq!((f.cards_in(chat.as_str()), f.card_of(chat.as_str()).unwrap().status), (1, Status::Triggered));
}

#[tokio::test]
async fn the_topic_is_kept_and_the_chat_rate_sets_the_chat_bucket() {
    let f = fake();
    let chat = f.create_chat(&req("inc-1", "k1")).await.unwrap().chat_id;
    f.set_topic(&chat, "ACKNOWLEDGED").await.unwrap();
    assert_eq!(f.chat(chat.as_str()).unwrap().topic, "ACKNOWLEDGED");
    f.set_chat_rate(1);
    assert_eq!(f.buckets(ApiFamily::Message, Some(&chat))[1].capacity, 1);
}

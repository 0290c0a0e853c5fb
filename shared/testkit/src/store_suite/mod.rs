//! The `Store` conformance suite. Every adapter runs every case through
//! [`store_conformance!`], each case on a fresh store.

pub mod admin;
pub mod history;
pub mod incidents;
pub mod runbooks;
pub mod shortlived;
pub mod tenancy;

/// Expands to one `#[tokio::test]` per case. `$make` is an async expression yielding
/// `Arc<dyn Store>`; an optional `ignore = "reason"` marks every case ignored.
#[macro_export]
macro_rules! store_conformance {
    ($make:expr, ignore = $why:literal) => {
        $crate::store_conformance!(@list $make, [#[ignore = $why]]);
    };
    ($make:expr) => {
        $crate::store_conformance!(@list $make, []);
    };
    (@list $make:expr, [$($attr:tt)*]) => {
        $crate::store_conformance!(@cases $make, [$($attr)*];
            tenancy::a_tenant_round_trips_and_a_missing_one_is_none,
            tenancy::tenant_updates_are_guarded_by_version_and_one_of_ten_concurrent_saves_wins,
            tenancy::api_keys_are_found_by_hash_and_a_hash_is_stored_once,
            tenancy::keys_are_listed_per_tenant_and_a_revoked_key_is_gone,
            tenancy::members_list_in_id_order_and_deleting_one_removes_its_links,
            tenancy::integrations_are_found_by_id_external_id_and_tenant,
            tenancy::an_integration_id_or_external_id_cannot_be_taken_twice,
            tenancy::updating_an_integration_keeps_its_war_room_flag,
            tenancy::integration_updates_are_guarded_by_version_and_one_of_ten_concurrent_wins,
            tenancy::a_second_integration_cannot_take_the_war_room_and_is_told_which_has_it,
            tenancy::twenty_concurrent_enables_leave_exactly_one_war_room_integration,
            tenancy::links_stay_one_to_one_in_both_directions,
            tenancy::link_lists_filter_search_and_page,
            tenancy::deleting_an_integration_releases_its_war_room_and_links,
            incidents::an_incident_is_created_at_version_one_and_found_by_its_source,
            incidents::a_second_incident_for_the_same_source_is_refused,
            incidents::updates_are_guarded_by_version,
            incidents::ten_concurrent_updates_from_one_version_let_exactly_one_through,
            incidents::incidents_list_newest_first_across_pages,
            incidents::any_cursor_of_the_documented_shape_is_a_position_in_the_list,
            incidents::the_timeline_is_ordered_and_never_overwritten,
            incidents::chats_lead_back_to_their_incident,
            incidents::captured_messages_are_ordered_and_stored_once,
            incidents::a_message_id_redelivered_at_another_time_is_stored_once_per_incident,
            incidents::post_mortem_versions_are_kept_in_order_and_never_overwritten,
            history::the_newest_timeline_entries_are_the_end_of_the_full_list_in_order,
            history::the_newest_messages_are_the_end_of_the_transcript_and_nothing_else_of_the_partition,
            history::a_captured_message_is_found_by_its_id_in_its_own_incident_only,
            runbooks::a_runbook_is_created_once_and_listed_in_id_order_per_tenant,
            runbooks::runbook_updates_are_guarded_by_version_and_deletes_are_per_tenant,
            shortlived::fifty_concurrent_dedupe_claims_have_exactly_one_winner,
            shortlived::an_expired_dedupe_claim_can_be_claimed_again,
            shortlived::a_released_dedupe_claim_can_be_claimed_again,
            shortlived::ephemeral_values_expire_and_can_be_taken_only_once,
            shortlived::twenty_concurrent_takes_of_one_state_give_it_to_exactly_one,
            shortlived::a_hundred_concurrent_token_takers_never_exceed_the_capacity,
            shortlived::a_bucket_refills_at_its_rate_and_says_how_long_to_wait,
            shortlived::twenty_concurrent_reservations_line_up_one_interval_apart,
            shortlived::asking_a_bucket_for_more_than_it_holds_is_invalid,
            shortlived::fifty_concurrent_counter_additions_each_see_their_own_total,
            shortlived::a_counter_starts_again_once_its_time_is_up,
            admin::every_tenant_is_listed_once_in_id_order_and_nothing_else_is,
        );
    };
    (@cases $make:expr, $attr:tt; $($module:ident :: $case:ident),+ $(,)?) => {
        $( $crate::store_conformance!(@one $make, $attr, $module, $case); )+
    };
    (@one $make:expr, [$($attr:tt)*], $module:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($attr)*
        async fn $case() {
            let store = $make.await;
            $crate::store_suite::$module::$case(store).await;
        }
    };
}

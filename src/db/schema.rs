// @generated from the migrations (information_schema); keep in step with migrations/.

diesel::table! {
    automation_jobs (id) {
        id -> Int8,
        live_event_id -> Int8,
        kind -> Text,
        live_fight_id -> Nullable<Int8>,
        poll_id -> Nullable<Int8>,
        round -> Nullable<Int4>,
        due_at -> Timestamptz,
        status -> Text,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamptz>,
        fired_at -> Nullable<Timestamptz>,
        outcome -> Nullable<Text>,
        cancelled_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    analytics (live_event_id, minute, metric, label) {
        live_event_id -> Int8,
        minute -> Timestamptz,
        metric -> Text,
        label -> Text,
        value -> Int8,
    }
}

diesel::table! {
    analytics_viewers (live_event_id, minute, node) {
        live_event_id -> Int8,
        minute -> Timestamptz,
        node -> Text,
        value -> Int8,
    }
}

diesel::table! {
    articles (id) {
        id -> Int8,
        title -> Text,
        slug -> Text,
        body -> Text,
        status -> Text,
        author_id -> Nullable<Int8>,
        event_id -> Nullable<Int8>,
        cover_media_id -> Nullable<Int8>,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    channel_messages (channel, epoch, seq) {
        channel -> Text,
        epoch -> Text,
        seq -> Int8,
        frame_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    channel_sequences (channel) {
        channel -> Text,
        epoch -> Text,
        last_seq -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    cluster_nodes (node) {
        node -> Text,
        started_at -> Timestamptz,
        seen_at -> Timestamptz,
        figures -> Jsonb,
    }
}

diesel::table! {
    commit_fences (id) {
        id -> Int8,
        commit_by -> Timestamptz,
    }
}

diesel::table! {
    comment_reports (id) {
        id -> Int8,
        comment_id -> Int8,
        reporter_id -> Int8,
        reason -> Text,
        status -> Text,
        resolved_by -> Nullable<Int8>,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    devices (id) {
        id -> Int8,
        user_id -> Int8,
        platform -> Text,
        token -> Text,
        app_id -> Text,
        is_active -> Bool,
        deactivated_reason -> Nullable<Text>,
        last_seen_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    divisions (id) {
        id -> Int8,
        name -> Text,
        weight_limit_lbs -> Float8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        champion_id -> Nullable<Int8>,
        champion_since -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    events (id) {
        id -> Int8,
        name -> Text,
        venue -> Text,
        scheduled_start -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    fighters (id) {
        id -> Int8,
        name -> Text,
        nickname -> Nullable<Text>,
        division_id -> Int8,
        wins -> Int4,
        losses -> Int4,
        draws -> Int4,
        no_contests -> Int4,
        country -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    fights (id) {
        id -> Int8,
        event_id -> Int8,
        red_fighter_id -> Int8,
        blue_fighter_id -> Int8,
        division_id -> Int8,
        scheduled_rounds -> Int4,
        card_order -> Int4,
        is_title_fight -> Bool,
        winner_corner -> Nullable<Text>,
        result_method -> Nullable<Text>,
        result_round -> Nullable<Int4>,
        result_time -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        result_details -> Jsonb,
    }
}

diesel::table! {
    fight_timeline (id) {
        id -> Int8,
        live_fight_id -> Int8,
        n -> Int4,
        kind -> Text,
        data -> Jsonb,
        by_user -> Nullable<Int8>,
        seq -> Nullable<Int8>,
        at -> Timestamptz,
    }
}

diesel::table! {
    follows (id) {
        id -> Int8,
        user_id -> Int8,
        target_type -> Text,
        target_id -> Int8,
        notify -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Int8,
        key -> Text,
        request_hash -> Bytea,
        attempt -> Int8,
        committed -> Bool,
        status -> Nullable<Int2>,
        content_type -> Nullable<Text>,
        response -> Nullable<Bytea>,
        locked_until -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    live_comments (id) {
        id -> Int8,
        live_event_id -> Int8,
        live_fight_id -> Nullable<Int8>,
        user_id -> Int8,
        content -> Text,
        parent_comment_id -> Nullable<Int8>,
        status -> Text,
        like_count -> Int4,
        reply_count -> Int4,
        report_count -> Int4,
        is_verified_user -> Bool,
        is_moderator -> Bool,
        seq -> Nullable<Int8>,
        moderated_by -> Nullable<Int8>,
        moderated_at -> Nullable<Timestamptz>,
        moderation_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    live_events (id) {
        id -> Int8,
        event_id -> Int8,
        status -> Text,
        start_time -> Nullable<Timestamptz>,
        end_time -> Nullable<Timestamptz>,
        viewer_count -> Int4,
        peak_viewers -> Int4,
        is_featured -> Bool,
        settings -> Jsonb,
        slow_mode_seconds -> Int4,
        current_fight_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    live_fights (id) {
        id -> Int8,
        live_event_id -> Int8,
        fight_id -> Int8,
        status -> Text,
        current_round -> Int4,
        viewer_count -> Int4,
        started_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        bout -> Jsonb,
    }
}

diesel::table! {
    live_updates (id) {
        id -> Int8,
        live_event_id -> Int8,
        live_fight_id -> Nullable<Int8>,
        update_type -> Text,
        title -> Text,
        description -> Text,
        round_number -> Nullable<Int4>,
        data -> Jsonb,
        is_verified -> Bool,
        is_breaking -> Bool,
        media_asset_id -> Nullable<Int8>,
        created_by -> Nullable<Int8>,
        reviewed_by -> Nullable<Int8>,
        reviewed_at -> Nullable<Timestamptz>,
        rejected -> Bool,
        seq -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    media_assets (id) {
        id -> Int8,
        kind -> Text,
        url -> Text,
        title -> Text,
        mime_type -> Nullable<Text>,
        width -> Nullable<Int4>,
        height -> Nullable<Int4>,
        duration_ms -> Nullable<Int4>,
        uploaded_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    moderation_actions (id) {
        id -> Int8,
        moderator_id -> Nullable<Int8>,
        action -> Text,
        target_type -> Text,
        target_id -> Int8,
        live_event_id -> Nullable<Int8>,
        reason -> Text,
        details -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notification_deliveries (id) {
        id -> Int8,
        notification_id -> Int8,
        device_id -> Int8,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        provider_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        platform -> Text,
        lease_until -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    notification_campaigns (id) {
        id -> Int8,
        source -> Text,
        notification_type -> Text,
        audience -> Jsonb,
        title -> Text,
        created_by -> Nullable<Int8>,
        recipients -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notification_preferences (user_id) {
        user_id -> Int8,
        push_enabled -> Bool,
        fight_results -> Bool,
        breaking_news -> Bool,
        ranking_changes -> Bool,
        event_start -> Bool,
        user_activity -> Bool,
        followed_only -> Bool,
        quiet_start_min -> Nullable<Int4>,
        quiet_end_min -> Nullable<Int4>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    poll_options (id) {
        id -> Int8,
        poll_id -> Int8,
        position -> Int4,
        text -> Text,
    }
}

diesel::table! {
    poll_votes (id) {
        id -> Int8,
        poll_id -> Int8,
        option_id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    polls (id) {
        id -> Int8,
        live_event_id -> Int8,
        live_fight_id -> Nullable<Int8>,
        question -> Text,
        status -> Text,
        created_by -> Nullable<Int8>,
        opened_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        closes_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    push_notifications (id) {
        id -> Int8,
        recipient_id -> Nullable<Int8>,
        notification_type -> Text,
        title -> Text,
        message -> Text,
        action_url -> Nullable<Text>,
        data -> Jsonb,
        is_read -> Bool,
        read_at -> Nullable<Timestamptz>,
        opened_at -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        delivery_status -> Text,
        created_at -> Timestamptz,
        campaign_id -> Nullable<Int8>,
    }
}

diesel::table! {
    rankings (id) {
        id -> Int8,
        division_id -> Int8,
        fighter_id -> Int8,
        rank -> Nullable<Int4>,
        rating -> Float8,
        rating_deviation -> Float8,
        volatility -> Float8,
        updated_at -> Timestamptz,
        previous_rank -> Nullable<Int4>,
    }
}

diesel::table! {
    ranking_history (id) {
        id -> Int8,
        fighter_id -> Int8,
        division_id -> Int8,
        fight_id -> Nullable<Int8>,
        cause -> Text,
        rank_before -> Nullable<Int4>,
        rank_after -> Nullable<Int4>,
        rating_before -> Nullable<Float8>,
        rating_after -> Float8,
        deviation_before -> Nullable<Float8>,
        deviation_after -> Float8,
        volatility_before -> Nullable<Float8>,
        volatility_after -> Float8,
        reason -> Text,
        title_won -> Bool,
        champion_before -> Nullable<Int8>,
        champion_since_before -> Nullable<Timestamptz>,
        at -> Timestamptz,
    }
}

diesel::table! {
    reaction_totals (target_type, target_id, reaction_type) {
        target_type -> Text,
        target_id -> Int8,
        reaction_type -> Text,
        count -> Int8,
    }
}

diesel::table! {
    reaction_events (id) {
        id -> Int8,
        user_id -> Int8,
        target_type -> Text,
        target_id -> Int8,
        reaction_type -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_activities (id) {
        id -> Int8,
        user_id -> Nullable<Int8>,
        activity_type -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Int8>,
        session_id -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_sanctions (id) {
        id -> Int8,
        user_id -> Int8,
        kind -> Text,
        live_event_id -> Nullable<Int8>,
        reason -> Text,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        is_verified -> Bool,
        timezone -> Text,
        banned_at -> Nullable<Timestamptz>,
        ban_reason -> Nullable<Text>,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        token_version -> Int4,
    }
}

diesel::joinable!(fighters -> divisions (division_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(fights -> events (event_id));
diesel::joinable!(live_events -> events (event_id));
diesel::joinable!(live_fights -> live_events (live_event_id));
diesel::joinable!(live_fights -> fights (fight_id));
diesel::joinable!(rankings -> divisions (division_id));
diesel::joinable!(rankings -> fighters (fighter_id));
diesel::joinable!(live_updates -> live_events (live_event_id));
diesel::joinable!(live_comments -> live_events (live_event_id));
diesel::joinable!(live_comments -> users (user_id));
diesel::joinable!(poll_options -> polls (poll_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(notification_deliveries -> push_notifications (notification_id));
diesel::joinable!(notification_deliveries -> devices (device_id));
diesel::joinable!(push_notifications -> notification_campaigns (campaign_id));
diesel::joinable!(fight_timeline -> live_fights (live_fight_id));
diesel::joinable!(automation_jobs -> live_events (live_event_id));

diesel::allow_tables_to_appear_in_same_query!(
    analytics,
    analytics_viewers,
    articles,
    automation_jobs,
    channel_messages,
    channel_sequences,
    cluster_nodes,
    commit_fences,
    comment_reports,
    devices,
    divisions,
    events,
    fighters,
    fight_timeline,
    fights,
    follows,
    idempotency_keys,
    live_comments,
    live_events,
    live_fights,
    live_updates,
    media_assets,
    moderation_actions,
    notification_campaigns,
    notification_deliveries,
    notification_preferences,
    poll_options,
    poll_votes,
    polls,
    push_notifications,
    ranking_history,
    rankings,
    reaction_events,
    reaction_totals,
    user_activities,
    user_sanctions,
    users,
);

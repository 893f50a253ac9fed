//! Table definitions shared by both backends (portable column types only).

diesel::table! {
    /// Accounts.
    users (id) {
        id -> Text,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One login session: the chain of refresh tokens that rotate from one login.
    token_families (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// Refresh tokens, stored as SHA-256 hashes; each is used at most once.
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Messages for one user.
    notifications (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        message -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(token_families -> users (user_id));
diesel::joinable!(refresh_tokens -> token_families (family_id));
diesel::joinable!(notifications -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(users, token_families, refresh_tokens, notifications);

diesel::table! {
    /// Projects: every case, environment and run belongs to one.
    projects (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        archived -> Bool,
        settings -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Who belongs to a project, with which role.
    project_members (project_id, user_id) {
        project_id -> Text,
        user_id -> Text,
        role -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    /// Named sets of variables of a project; secret values are sealed.
    environments (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        is_default -> Bool,
        variables -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Test cases; `spec` is the typed spec as JSON, `tags` a JSON array.
    cases (id) {
        id -> Text,
        project_id -> Text,
        kind -> Text,
        name -> Text,
        description -> Text,
        tags -> Text,
        priority -> Integer,
        active -> Bool,
        spec -> Text,
        created_by -> Text,
        updated_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Who did what to which object, when.
    audit_entries (id) {
        id -> Text,
        project_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        summary -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(environments -> projects (project_id));
diesel::joinable!(cases -> projects (project_id));

diesel::allow_tables_to_appear_in_same_query!(
    projects,
    project_members,
    environments,
    cases,
    audit_entries,
    users,
    runs,
    run_cases,
    run_events
);

diesel::table! {
    /// Secrets for servers (database passwords …), sealed; write-only over the API.
    credentials (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        username -> Nullable<Text>,
        sealed_secret -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Monitored servers of a project; `tags` is a JSON array.
    servers (id) {
        id -> Text,
        project_id -> Text,
        kind -> Text,
        name -> Text,
        tags -> Text,
        address -> Text,
        database_name -> Nullable<Text>,
        credential_id -> Nullable<Text>,
        probe_interval_secs -> Integer,
        status -> Text,
        status_changed_at -> Nullable<Timestamp>,
        last_checked_at -> Nullable<Timestamp>,
        node_name -> Nullable<Text>,
        agent_token_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// When the server is due for its next probe, epoch milliseconds.
        next_probe_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Raw samples (no key of their own; diesel needs one declared).
    metric_samples (server_id, metric, at_ms) {
        server_id -> Text,
        metric -> Text,
        at_ms -> BigInt,
        value -> Double,
    }
}

diesel::table! {
    /// Per-bucket aggregates of the 1-minute and 1-hour tiers.
    metric_rollups (server_id, metric, tier_secs, bucket_ms) {
        server_id -> Text,
        metric -> Text,
        tier_secs -> Integer,
        bucket_ms -> BigInt,
        sample_count -> BigInt,
        value_sum -> Double,
        value_min -> Double,
        value_max -> Double,
    }
}

diesel::table! {
    /// Threshold rules on a metric of one server or of the servers with a tag.
    alert_rules (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        metric -> Text,
        server_id -> Nullable<Text>,
        tag -> Nullable<Text>,
        comparison -> Text,
        threshold -> Double,
        for_secs -> Integer,
        severity -> Text,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Alert episodes of a rule on a server, with the time of each transition.
    alerts (id) {
        id -> Text,
        rule_id -> Text,
        project_id -> Text,
        server_id -> Text,
        state -> Text,
        value -> Double,
        started_at -> Timestamp,
        fired_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Periods in which alerts of a project (or of one rule or server) notify nobody.
    silences (id) {
        id -> Text,
        project_id -> Text,
        rule_id -> Nullable<Text>,
        server_id -> Nullable<Text>,
        reason -> Text,
        ends_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Monitor duties held by one node at a time under a lease.
    monitor_leases (duty) {
        duty -> Text,
        owner -> Text,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    credentials,
    servers,
    metric_samples,
    metric_rollups,
    alert_rules,
    alerts,
    silences,
    projects
);

diesel::table! {
    /// One execution of a project's cases; `environment` is the JSON snapshot it runs with.
    runs (id) {
        id -> Text,
        project_id -> Text,
        status -> Text,
        trigger_kind -> Text,
        started_by -> Nullable<Text>,
        retry_of -> Nullable<Text>,
        environment -> Text,
        max_workers -> Integer,
        total -> Integer,
        passed -> Integer,
        failed -> Integer,
        errored -> Integer,
        skipped -> Integer,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        next_seq -> BigInt,
        task_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// A case as a run snapshotted it, with its result once it has one.
    run_cases (id) {
        id -> Text,
        run_id -> Text,
        case_id -> Text,
        position -> Integer,
        name -> Text,
        kind -> Text,
        spec -> Text,
        status -> Text,
        duration_ms -> Nullable<BigInt>,
        result -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
        sealed_captures -> Nullable<Text>,
    }
}

diesel::table! {
    /// The numbered events of a run, replayed to subscribers that reconnect.
    run_events (run_id, seq) {
        run_id -> Text,
        seq -> BigInt,
        kind -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(runs -> projects (project_id));
diesel::joinable!(run_cases -> runs (run_id));
diesel::joinable!(run_events -> runs (run_id));

diesel::table! {
    /// Scheduled tasks: a cron schedule, policies and an action.
    tasks (id) {
        id -> Text,
        project_id -> Text,
        name -> Text,
        description -> Text,
        cron -> Text,
        timezone -> Text,
        action -> Text,
        concurrency -> Text,
        misfire -> Text,
        max_run_seconds -> Nullable<Integer>,
        enabled -> Bool,
        paused -> Bool,
        schedule_since -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Every fire of a task, claimed once (unique task, trigger and fire time).
    task_fires (id) {
        id -> Text,
        task_id -> Text,
        project_id -> Text,
        fire_at -> Timestamp,
        trigger_kind -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        missed_count -> Integer,
        run_id -> Nullable<Text>,
        node -> Text,
        claimed_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(tasks -> projects (project_id));
diesel::joinable!(task_fires -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(tasks, task_fires, runs);

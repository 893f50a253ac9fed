//! Server rules: validation, CRUD, connection tests and agent tokens.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;

use crate::app::App;
use crate::audit;
use crate::auth::tokens::hash_refresh_token;
use crate::auth::Viewer;
use crate::db::stored::Json;
use crate::db::{now, Conn};
use crate::error::{AppError, AppResult};
use crate::projects::access::ProjectAccess;
use crate::projects::model::{MemberRow, ProjectRole};

use super::model::{CredentialRow, ServerChanges, ServerRow, ServerStatus};
use super::probe::{self, ProbeOutcome, ProbeTarget, ServerKind};

/// Longest server name.
const MAX_NAME_LENGTH: usize = 100;
/// Most tags per server.
const MAX_TAGS: usize = 20;
/// Probe interval when none is given, in seconds.
pub const DEFAULT_PROBE_INTERVAL_SECS: i32 = 60;
/// Longest probe interval, in seconds (one day).
const MAX_PROBE_INTERVAL_SECS: i32 = 86_400;
/// Prefix of agent tokens, so they are recognisable in a leaked config.
const AGENT_TOKEN_PREFIX: &str = "twa_";

/// What a client gives to create a server.
pub struct NewServer {
    /// Kind of server.
    pub kind: ServerKind,
    /// Name, unique in the project.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// URL, host name, or `host:port`.
    pub address: String,
    /// Database name (databases) or number (Redis).
    pub database_name: Option<String>,
    /// Credential of the same project.
    pub credential_id: Option<String>,
    /// Seconds between probes.
    pub probe_interval_secs: Option<i32>,
}

/// What a client changes on a server; `None` leaves a field as it is.
#[derive(Default)]
pub struct ServerUpdate {
    /// New name.
    pub name: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New address.
    pub address: Option<String>,
    /// New database name (empty clears it).
    pub database_name: Option<String>,
    /// New credential (empty clears it).
    pub credential_id: Option<String>,
    /// New probe interval.
    pub probe_interval_secs: Option<i32>,
}

/// Registers a server (maintainers).
pub async fn create_server(
    app: &App,
    access: &ProjectAccess,
    new: NewServer,
) -> AppResult<ServerRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let name = server_name(&new.name)?;
    let tags = tags(new.tags)?;
    let address = address(new.kind, &new.address)?;
    let interval = probe_interval(app, new.probe_interval_secs)?;
    app.db
        .transaction(async |conn| {
            let credential_id = credential_of_project(conn, access, new.credential_id).await?;
            let at = now();
            let row = ServerRow {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: access.project_id().to_owned(),
                kind: new.kind,
                name,
                tags: Json(tags),
                address,
                database_name: new.database_name.filter(|d| !d.is_empty()),
                credential_id,
                probe_interval_secs: interval,
                status: ServerStatus::Unknown,
                status_changed_at: None,
                last_checked_at: None,
                node_name: None,
                agent_token_hash: None,
                created_at: at,
                updated_at: at,
            };
            row.insert(conn)
                .await
                .map_err(|error| conflict_on_name(error, &row.name))?;
            let summary = format!(
                "registered {} server '{}' at {}",
                row.kind,
                row.name,
                shown_address(&row)
            );
            audit::record_in_project(
                &mut *conn,
                access,
                "server",
                "server.create",
                &row.id,
                summary,
            )
            .await?;
            Ok(row)
        })
        .await
}

/// Changes a server (maintainers).
pub async fn update_server(
    app: &App,
    access: &ProjectAccess,
    server: &ServerRow,
    update: ServerUpdate,
) -> AppResult<ServerRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let mut changes = ServerChanges {
        name: update.name.as_deref().map(server_name).transpose()?,
        tags: update.tags.map(tags).transpose()?.map(Json),
        address: update
            .address
            .as_deref()
            .map(|a| address(server.kind, a))
            .transpose()?,
        database_name: update
            .database_name
            .map(|d| Some(d).filter(|d| !d.is_empty())),
        credential_id: None,
        probe_interval_secs: update
            .probe_interval_secs
            .map(|secs| probe_interval(app, Some(secs)))
            .transpose()?,
        next_probe_ms: None,
        updated_at: Some(now()),
    };
    // A new target or interval is probed at once rather than on the old schedule.
    if changes.address.is_some() || changes.probe_interval_secs.is_some() {
        changes.next_probe_ms = Some(None);
    }
    app.db
        .transaction(async |conn| {
            changes.credential_id = match update.credential_id {
                Some(id) if id.is_empty() => Some(None),
                Some(id) => Some(credential_of_project(conn, access, Some(id)).await?),
                None => None,
            };
            let updated = ServerRow::update(conn, access.scope(), &server.id, &changes)
                .await
                .map_err(|error| conflict_on_name(error, changes.name.as_deref().unwrap_or("")))?
                .ok_or(AppError::NotFound("server"))?;
            let summary = format!(
                "updated server '{}' ({})",
                updated.name,
                shown_address(&updated)
            );
            audit::record_in_project(
                &mut *conn,
                access,
                "server",
                "server.update",
                &updated.id,
                summary,
            )
            .await?;
            Ok(updated)
        })
        .await
}

/// Deletes a server with its samples, rules and alerts (maintainers).
pub async fn delete_server(app: &App, access: &ProjectAccess, server: &ServerRow) -> AppResult<()> {
    access.ensure(ProjectRole::Maintainer)?;
    let summary = format!("deleted server '{}'", server.name);
    app.db
        .transaction(async |conn| {
            ServerRow::delete(conn, access.scope(), &server.id).await?;
            audit::record_in_project(conn, access, "server", "server.delete", &server.id, summary)
                .await?;
            Ok(())
        })
        .await
}

/// A new agent token for the server (maintainers); only its hash is kept, and
/// it replaces any earlier one. Returns the token and the server as it is now.
pub async fn create_agent_token(
    app: &App,
    access: &ProjectAccess,
    server: &ServerRow,
) -> AppResult<(String, ServerRow)> {
    access.ensure(ProjectRole::Maintainer)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{AGENT_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_refresh_token(&token);
    let summary = format!("created an agent token for server '{}'", server.name);
    let updated = set_agent_token(app, access, server, Some(hash), "create", summary).await?;
    Ok((token, updated))
}

/// Revokes the server's agent token (maintainers); returns the server as it is now.
pub async fn revoke_agent_token(
    app: &App,
    access: &ProjectAccess,
    server: &ServerRow,
) -> AppResult<ServerRow> {
    access.ensure(ProjectRole::Maintainer)?;
    let summary = format!("revoked the agent token of server '{}'", server.name);
    set_agent_token(app, access, server, None, "revoke", summary).await
}

async fn set_agent_token(
    app: &App,
    access: &ProjectAccess,
    server: &ServerRow,
    hash: Option<String>,
    verb: &str,
    summary: String,
) -> AppResult<ServerRow> {
    let action = format!("server.agent_token.{verb}");
    app.db
        .transaction(async |conn| {
            let updated = ServerRow::set_agent_token_hash(conn, access.scope(), &server.id, hash)
                .await?
                .ok_or(AppError::NotFound("server"))?;
            audit::record_in_project(&mut *conn, access, "server", &action, &server.id, summary)
                .await?;
            Ok(updated)
        })
        .await
}

/// The server an agent token belongs to, or `UNAUTHENTICATED`.
pub async fn server_of_agent_token(app: &App, token: Option<&str>) -> AppResult<ServerRow> {
    let invalid = || AppError::Unauthenticated("a valid agent token is required".into());
    let token = token
        .filter(|t| t.starts_with(AGENT_TOKEN_PREFIX))
        .ok_or_else(invalid)?;
    ServerRow::find_by_agent_token_hash(&mut app.db.conn().await?, &hash_refresh_token(token))
        .await?
        .ok_or_else(invalid)
}

/// Probes a stored server with its credential, for real.
pub async fn test_server(app: &App, server: &ServerRow) -> AppResult<ProbeOutcome> {
    let target = target_of(app, server).await?;
    Ok(probe::probe(&target).await)
}

/// Probes an unsaved target; the address is checked first (`BAD_USER_INPUT`).
///
/// It reaches whatever address it is given, internal hosts included, so only
/// admins and those who maintain some project may use it (`FORBIDDEN` otherwise).
pub async fn test_target(
    app: &App,
    viewer: &Viewer,
    mut target: ProbeTarget,
) -> AppResult<ProbeOutcome> {
    let allowed = viewer.is_admin()
        || MemberRow::holds_role_somewhere(
            &mut app.db.conn().await?,
            viewer.id(),
            ProjectRole::Maintainer,
        )
        .await?;
    if !allowed {
        return Err(AppError::Forbidden(
            "testing an unsaved target needs the maintainer role in some project".into(),
        ));
    }
    target.address = address(target.kind, &target.address)?;
    target.timeout = probe_timeout(app);
    Ok(probe::probe(&target).await)
}

/// The probe target of a stored server, its credential opened.
pub async fn target_of(app: &App, server: &ServerRow) -> AppResult<ProbeTarget> {
    let mut target = ProbeTarget::new(
        server.kind,
        server.address.clone(),
        app.probe_network.clone(),
    );
    target.database = server.database_name.clone();
    target.timeout = probe_timeout(app);
    if let Some(credential_id) = &server.credential_id {
        if let Some(credential) =
            CredentialRow::find(&mut app.db.conn().await?, credential_id).await?
        {
            target.username = credential.username;
            target.password = Some(
                app.secrets
                    .open(&credential.sealed_secret)
                    .map_err(AppError::internal)?,
            )
            .filter(|p| !p.is_empty());
        }
    }
    Ok(target)
}

/// The configured probe timeout.
pub fn probe_timeout(app: &App) -> Duration {
    Duration::from_millis(app.config.monitor.probe_timeout_ms)
}

/// The address with any password in an HTTP URL hidden, for summaries.
fn shown_address(server: &ServerRow) -> String {
    match url::Url::parse(&server.address) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => server.address.clone(),
    }
}

async fn credential_of_project(
    conn: &mut Conn,
    access: &ProjectAccess,
    credential_id: Option<String>,
) -> AppResult<Option<String>> {
    let Some(id) = credential_id.filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    match CredentialRow::find(conn, &id).await? {
        Some(credential) if credential.project_id == access.project_id() => Ok(Some(id)),
        _ => Err(AppError::bad_input(
            "credentialId",
            "no such credential in this project",
        )),
    }
}

fn conflict_on_name(error: crate::db::DbError, name: &str) -> AppError {
    if error.is_unique_violation() {
        AppError::Conflict(format!("a server named '{name}' exists"))
    } else {
        error.into()
    }
}

fn server_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
        return Err(AppError::bad_input(
            "name",
            format!("name must be 1 to {MAX_NAME_LENGTH} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn tags(tags: Vec<String>) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_owned();
        if tag.is_empty() || tag.len() > 64 {
            return Err(AppError::bad_input("tags", "tags are 1 to 64 characters"));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(AppError::bad_input(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    Ok(out)
}

fn address(kind: ServerKind, address: &str) -> AppResult<String> {
    let address = address.trim();
    probe::validate_address(kind, address)
        .map_err(|message| AppError::bad_input("address", message))?;
    Ok(address.to_owned())
}

fn probe_interval(app: &App, secs: Option<i32>) -> AppResult<i32> {
    let minimum = i32::try_from(app.config.monitor.min_probe_interval).unwrap_or(i32::MAX);
    let secs = secs.unwrap_or(DEFAULT_PROBE_INTERVAL_SECS.max(minimum));
    if secs < minimum || secs > MAX_PROBE_INTERVAL_SECS {
        return Err(AppError::bad_input(
            "probeIntervalSecs",
            format!("the probe interval must be between {minimum} and {MAX_PROBE_INTERVAL_SECS} seconds"),
        ));
    }
    Ok(secs)
}
